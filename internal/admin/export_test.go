package admin

import "net/http"

// RouteRoles returns, for each private route of h (a handler New
// returned), the roles it declares.
func RouteRoles(h http.Handler) map[string][]string {
	out := map[string][]string{}
	for _, rt := range h.(*handler).privateRoutes {
		names := []string{}
		for _, r := range rt.allow {
			names = append(names, string(r))
		}
		out[rt.pattern] = names
	}
	return out
}

// Exported for the external tests only.
var (
	ParseLiteLLMDuration = parseLiteLLMDuration
	BudgetPeriodOf       = budgetPeriodOf
)
