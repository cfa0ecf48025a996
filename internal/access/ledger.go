package access

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Spend is usage counted against a budget.
type Spend struct {
	Tokens int64
	Cost   float64 // USD
}

// UsageSource aggregates usage records; the store implements it.
type UsageSource interface {
	QueryUsage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error)
}

// DefaultLedgerRefresh is how often the ledger re-reads what every replica
// has spent from the usage records.
const DefaultLedgerRefresh = 5 * time.Second

// Ledger tells how much of its budget a key, or a team, has spent in the
// current period. Budgets are long (a day to a month) and must survive
// restarts and hold across replicas, so the truth is the usage records in
// the store: a spend is read from them when first needed in a period,
// re-read for every tracked key and team by Run, and in between this
// replica's own requests are added as they finish. A burst from several
// replicas can therefore overshoot a budget by what they spend within one
// refresh (plus the usage writer's batching delay); the budget then holds
// from the next request.
type Ledger struct {
	src UsageSource
	now func() time.Time

	mu      sync.Mutex
	entries map[spender]*ledgerEntry
}

// spender is what a budget belongs to: a key, or a team in one of its
// periods (a team has a daily and a monthly budget at once).
type spender struct {
	team   bool
	id     string
	period string // teams only; a key's period is its entry's
}

type ledgerEntry struct {
	period string
	start  time.Time
	base   Spend // from the store, as of the last read
	local  Spend // this replica's since then
}

// NewLedger returns a ledger over src; now is the clock (time.Now when nil).
func NewLedger(src UsageSource, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{src: src, now: now, entries: make(map[spender]*ledgerEntry)}
}

// Spent returns what keyID has spent in its current period.
func (l *Ledger) Spent(ctx context.Context, keyID, period string, now time.Time) (Spend, error) {
	return l.spent(ctx, spender{id: keyID}, period, now)
}

// TeamSpent returns what the keys of teamID have spent in the current
// period ("day" or "month").
func (l *Ledger) TeamSpent(ctx context.Context, teamID, period string, now time.Time) (Spend, error) {
	return l.spent(ctx, spender{team: true, id: teamID, period: period}, period, now)
}

func (l *Ledger) spent(ctx context.Context, who spender, period string, now time.Time) (Spend, error) {
	start, _ := PeriodBounds(period, now)
	l.mu.Lock()
	e, ok := l.entries[who]
	if ok && e.period == period && e.start.Equal(start) {
		s := Spend{Tokens: e.base.Tokens + e.local.Tokens, Cost: e.base.Cost + e.local.Cost}
		l.mu.Unlock()
		return s, nil
	}
	l.mu.Unlock()

	q := store.UsageQuery{From: start, KeyID: who.id}
	if who.team {
		q = store.UsageQuery{From: start, TeamID: who.id}
	}
	rows, err := l.src.QueryUsage(ctx, q)
	if err != nil {
		return Spend{}, fmt.Errorf("access: read the budget of %s: %w", who.id, err)
	}
	base := sum(rows)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[who]; ok && e.period == period && e.start.Equal(start) {
		// Another request loaded it meanwhile; keep its local additions.
		return Spend{Tokens: e.base.Tokens + e.local.Tokens, Cost: e.base.Cost + e.local.Cost}, nil
	}
	l.entries[who] = &ledgerEntry{period: period, start: start, base: base}
	return base, nil
}

// Add counts a finished request's usage against keyID's budget.
func (l *Ledger) Add(keyID string, s Spend) { l.add(spender{id: keyID}, s) }

// AddTeam counts a finished request's usage against teamID's budgets of
// every period.
func (l *Ledger) AddTeam(teamID string, s Spend) {
	for _, period := range teamPeriods {
		l.add(spender{team: true, id: teamID, period: period}, s)
	}
}

func (l *Ledger) add(who spender, s Spend) {
	l.mu.Lock()
	if e, ok := l.entries[who]; ok {
		e.local.Tokens += s.Tokens
		e.local.Cost += s.Cost
	}
	l.mu.Unlock()
}

// Refresh re-reads the spend of every tracked key and team from the
// store: one query per period start and kind.
func (l *Ledger) Refresh(ctx context.Context) error {
	type read struct {
		start time.Time
		team  bool
	}
	l.mu.Lock()
	reads := make(map[read]bool)
	for who, e := range l.entries {
		reads[read{e.start, who.team}] = true
	}
	l.mu.Unlock()
	for rd := range reads {
		groupBy := store.GroupByKey
		if rd.team {
			groupBy = store.GroupByTeam
		}
		rows, err := l.src.QueryUsage(ctx, store.UsageQuery{From: rd.start, GroupBy: groupBy})
		if err != nil {
			return fmt.Errorf("access: refresh budgets: %w", err)
		}
		byID := make(map[string]Spend, len(rows))
		for _, r := range rows {
			byID[r.Group] = Spend{Tokens: r.TotalTokens, Cost: r.Cost}
		}
		l.mu.Lock()
		for who, e := range l.entries {
			if who.team == rd.team && e.start.Equal(rd.start) {
				e.base, e.local = byID[who.id], Spend{}
			}
		}
		l.mu.Unlock()
	}
	return nil
}

// Run refreshes every period until ctx is done, dropping keys and teams
// whose period has ended (they load again on their next request).
func (l *Ledger) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultLedgerRefresh
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := l.now()
			l.mu.Lock()
			for who, e := range l.entries {
				if start, _ := PeriodBounds(e.period, now); !start.Equal(e.start) {
					delete(l.entries, who)
				}
			}
			l.mu.Unlock()
			_ = l.Refresh(ctx) // a store outage keeps the last figures
		}
	}
}

func sum(rows []store.UsageRow) Spend {
	var s Spend
	for _, r := range rows {
		s.Tokens += r.TotalTokens
		s.Cost += r.Cost
	}
	return s
}

// PeriodBounds returns the budget period containing now, in UTC: a day,
// an ISO week (Monday to Monday), a calendar month, or for "" all time
// (zero start and end).
func PeriodBounds(period string, now time.Time) (start, end time.Time) {
	now = now.UTC()
	y, m, d := now.Date()
	switch period {
	case "day":
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case "week":
		back := (int(now.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 7)
	case "month":
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return time.Time{}, time.Time{}
}

func hasBudget(p *auth.Principal) bool { return p.BudgetTokens > 0 || p.BudgetCost > 0 }

// budget refuses a key whose budget for the period is used up. When the
// store cannot be read the request goes ahead: a budget is never a reason
// to fail every request during a database outage.
func (c *Checker) budget(ctx context.Context, p *auth.Principal, now time.Time) error {
	if c.ledger == nil || !hasBudget(p) {
		return nil
	}
	s, err := c.ledger.Spent(ctx, p.KeyID, p.BudgetPeriod, now)
	if err != nil {
		c.log.Warn("budget not checked: usage unreadable", "key", p.KeyID, "err", err)
		return nil
	}
	var used string
	switch {
	case p.BudgetTokens > 0 && s.Tokens >= p.BudgetTokens:
		used = fmt.Sprintf("%d of %d tokens", s.Tokens, p.BudgetTokens)
	case p.BudgetCost > 0 && s.Cost >= p.BudgetCost:
		used = fmt.Sprintf("$%.2f of $%.2f", s.Cost, p.BudgetCost)
	default:
		return nil
	}
	e := &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted"}
	_, end := PeriodBounds(p.BudgetPeriod, now)
	if end.IsZero() {
		e.Message = fmt.Sprintf("budget exhausted: %s used; this budget does not reset, ask the operator to raise it", used)
		return e
	}
	e.RetryAfter = end.Sub(now)
	e.Message = fmt.Sprintf("budget exhausted: %s used this %s; resets at %s", used, p.BudgetPeriod, end.Format(time.RFC3339))
	return e
}
