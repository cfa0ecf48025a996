package access

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
)

// teamPeriods are the periods a team has a budget for.
var teamPeriods = []string{"day", "month"}

func teamHasBudget(t *auth.Team) bool {
	return t != nil && (t.BudgetDaily > 0 || t.BudgetMonthly > 0)
}

// teamBudget refuses a request of a team whose daily or monthly budget is
// spent. Like a key's budget, an unreadable store lets the request go.
func (c *Checker) teamBudget(ctx context.Context, t *auth.Team, now time.Time) error {
	if c.ledger == nil || !teamHasBudget(t) {
		return nil
	}
	// The monthly budget first: when both are spent, the month's is the
	// one that matters (the day's resetting does not help).
	for _, b := range []struct {
		period string
		limit  float64
	}{{"month", t.BudgetMonthly}, {"day", t.BudgetDaily}} {
		if b.limit <= 0 {
			continue
		}
		s, err := c.ledger.TeamSpent(ctx, t.ID, b.period, now)
		if err != nil {
			c.log.Warn("team budget not checked: usage unreadable", "team", t.ID, "err", err)
			return nil
		}
		if s.Cost < b.limit {
			continue
		}
		_, end := PeriodBounds(b.period, now)
		return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted", RetryAfter: end.Sub(now),
			Message: fmt.Sprintf("%s budget exhausted: $%.2f of $%.2f used this %s by all its keys; resets at %s, or ask the operator to raise it",
				teamName(t), s.Cost, b.limit, b.period, end.Format(time.RFC3339))}
	}
	return nil
}
