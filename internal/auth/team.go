package auth

import "github.com/spillwayhq/spillway/internal/store"

// Team is what the gateway enforces of a key's team: shared by all its
// keys, so their requests together stay within its limits. It is
// immutable once loaded: a change in the store loads a new one.
type Team struct {
	ID   string
	Name string
	// Models is the allow-list; empty allows every model.
	Models []string
	// RPM and TPM limit the team's requests and tokens per minute, all
	// its keys together; 0 is unlimited.
	RPM, TPM int
	// BudgetDaily and BudgetMonthly (USD) limit the team's cost per UTC
	// day and calendar month; 0 is no budget.
	BudgetDaily, BudgetMonthly float64
	// MaxParallel caps the requests in flight at once of all its keys
	// together, across replicas; 0 is no cap.
	MaxParallel int
}

// loadTeams indexes teams by id, one *Team each, shared by the principals
// of its keys.
func loadTeams(teams []store.Team) map[string]*Team {
	out := make(map[string]*Team, len(teams))
	for _, t := range teams {
		out[t.ID] = &Team{
			ID: t.ID, Name: t.Name, Models: t.Models, RPM: t.RPM, TPM: t.TPM,
			BudgetDaily: t.BudgetDaily, BudgetMonthly: t.BudgetMonthly, MaxParallel: t.MaxParallel,
		}
	}
	return out
}
