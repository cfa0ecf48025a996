package admin

// Exported for the external tests only.
var (
	ParseLiteLLMDuration = parseLiteLLMDuration
	BudgetPeriodOf       = budgetPeriodOf
)
