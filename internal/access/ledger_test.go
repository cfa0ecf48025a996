package access_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/store"
)

// fakeUsage is a UsageSource whose usage records add up to spent, per key.
// It answers a GroupByKey query with one row per key and any other query
// with the total of q.KeyID; it does not look at the time range, which the
// tests check in the recorded queries instead.
type fakeUsage struct {
	mu      sync.Mutex
	spent   map[string]access.Spend
	err     error
	queries []store.UsageQuery
	// grouped, when set, is sent every GroupByKey query, dropping those
	// nobody is waiting for.
	grouped chan store.UsageQuery
}

func newFakeUsage(spent map[string]access.Spend) *fakeUsage {
	if spent == nil {
		spent = make(map[string]access.Spend)
	}
	return &fakeUsage{spent: spent}
}

func (f *fakeUsage) QueryUsage(_ context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if q.GroupBy == store.GroupByKey && f.grouped != nil {
		select {
		case f.grouped <- q:
		default:
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	if q.GroupBy == store.GroupByKey {
		var rows []store.UsageRow
		for id, s := range f.spent {
			rows = append(rows, store.UsageRow{Group: id, Requests: 1, TotalTokens: s.Tokens, PromptTokens: s.Tokens, Cost: s.Cost})
		}
		return rows, nil
	}
	s := f.spent[q.KeyID]
	return []store.UsageRow{{Requests: 1, TotalTokens: s.Tokens, PromptTokens: s.Tokens, Cost: s.Cost}}, nil
}

func (f *fakeUsage) set(keyID string, s access.Spend) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spent[keyID] = s
}

func (f *fakeUsage) forget(keyID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.spent, keyID)
}

func (f *fakeUsage) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// recorded returns the queries so far.
func (f *fakeUsage) recorded() []store.UsageQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.UsageQuery(nil), f.queries...)
}

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func TestPeriodBounds(t *testing.T) {
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		period             string
		now                time.Time
		wantStart, wantEnd time.Time
	}{
		{"day", "day", utc(2026, 3, 10, 15, 4, 5), utc(2026, 3, 10, 0, 0, 0), utc(2026, 3, 11, 0, 0, 0)},
		{"day at midnight", "day", utc(2026, 3, 11, 0, 0, 0), utc(2026, 3, 11, 0, 0, 0), utc(2026, 3, 12, 0, 0, 0)},
		{"day is the UTC day", "day", time.Date(2026, 3, 11, 8, 0, 0, 0, sydney), utc(2026, 3, 10, 0, 0, 0), utc(2026, 3, 11, 0, 0, 0)},
		{"day at the year end", "day", utc(2026, 12, 31, 23, 59, 59), utc(2026, 12, 31, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)},
		{"week on a Sunday", "week", utc(2026, 3, 8, 23, 59, 59), utc(2026, 3, 2, 0, 0, 0), utc(2026, 3, 9, 0, 0, 0)},
		{"week on a Monday", "week", utc(2026, 3, 9, 0, 0, 0), utc(2026, 3, 9, 0, 0, 0), utc(2026, 3, 16, 0, 0, 0)},
		{"week on a Wednesday", "week", utc(2026, 3, 11, 12, 0, 0), utc(2026, 3, 9, 0, 0, 0), utc(2026, 3, 16, 0, 0, 0)},
		{"week across a month", "week", utc(2026, 3, 1, 12, 0, 0), utc(2026, 2, 23, 0, 0, 0), utc(2026, 3, 2, 0, 0, 0)},
		{"week across a year", "week", utc(2027, 1, 1, 12, 0, 0), utc(2026, 12, 28, 0, 0, 0), utc(2027, 1, 4, 0, 0, 0)},
		{"month on Jan 31", "month", utc(2026, 1, 31, 23, 0, 0), utc(2026, 1, 1, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0)},
		{"month on Feb 28", "month", utc(2026, 2, 28, 12, 0, 0), utc(2026, 2, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)},
		{"month on a leap Feb 29", "month", utc(2028, 2, 29, 12, 0, 0), utc(2028, 2, 1, 0, 0, 0), utc(2028, 3, 1, 0, 0, 0)},
		{"month on Dec 31", "month", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), utc(2026, 12, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)},
		{"month's first instant", "month", utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0)},
		{"month is the UTC month", "month", time.Date(2026, 4, 1, 9, 0, 0, 0, sydney), utc(2026, 3, 1, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0)},
		{"for ever", "", utc(2026, 3, 10, 15, 4, 5), time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := access.PeriodBounds(tt.period, tt.now)
			if !start.Equal(tt.wantStart) || !end.Equal(tt.wantEnd) {
				t.Fatalf("PeriodBounds(%q, %v) = %v, %v; want %v, %v", tt.period, tt.now, start, end, tt.wantStart, tt.wantEnd)
			}
			if tt.period == "" {
				if !start.IsZero() || !end.IsZero() {
					t.Errorf("bounds for ever = %v, %v; want zero times", start, end)
				}
				return
			}
			if start.Location() != time.UTC || end.Location() != time.UTC {
				t.Errorf("bounds in %v and %v, want UTC", start.Location(), end.Location())
			}
			if tt.now.Before(start) || !tt.now.Before(end) {
				t.Errorf("%v is not in [%v, %v)", tt.now, start, end)
			}
			if tt.period == "week" && (start.Weekday() != time.Monday || end.Weekday() != time.Monday) {
				t.Errorf("week runs %v to %v, want Monday to Monday", start.Weekday(), end.Weekday())
			}
		})
	}
}

func budgetExhausted(retry time.Duration, msg string) *apierror.Error {
	return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted", RetryAfter: retry, Message: msg}
}

func TestAdmitBudget(t *testing.T) {
	tests := []struct {
		name         string
		period       string
		budgetTokens int64
		budgetCost   float64
		spent        access.Spend
		now          time.Time
		want         *apierror.Error // nil: admitted
	}{
		{"tokens left", "day", 100, 0, access.Spend{Tokens: 99}, utc(2026, 3, 10, 18, 0, 0), nil},
		{"tokens used up", "day", 100, 0, access.Spend{Tokens: 100}, utc(2026, 3, 10, 18, 0, 0),
			budgetExhausted(6*time.Hour, "budget exhausted: 100 of 100 tokens used this day; resets at 2026-03-11T00:00:00Z")},
		{"tokens overshot", "day", 100, 0, access.Spend{Tokens: 130}, utc(2026, 3, 10, 18, 0, 0),
			budgetExhausted(6*time.Hour, "budget exhausted: 130 of 100 tokens used this day; resets at 2026-03-11T00:00:00Z")},
		{"cost left", "month", 0, 5, access.Spend{Tokens: 1 << 40, Cost: 4.99}, utc(2026, 1, 31, 12, 0, 0), nil},
		{"cost used up on Jan 31", "month", 0, 5, access.Spend{Cost: 5}, utc(2026, 1, 31, 12, 0, 0),
			budgetExhausted(12*time.Hour, "budget exhausted: $5.00 of $5.00 used this month; resets at 2026-02-01T00:00:00Z")},
		{"cost used up in December", "month", 0, 5, access.Spend{Cost: 7.5}, utc(2026, 12, 31, 23, 0, 0),
			budgetExhausted(time.Hour, "budget exhausted: $7.50 of $5.00 used this month; resets at 2027-01-01T00:00:00Z")},
		{"week on a Sunday", "week", 0, 2, access.Spend{Cost: 2.5}, utc(2026, 3, 8, 12, 0, 0),
			budgetExhausted(12*time.Hour, "budget exhausted: $2.50 of $2.00 used this week; resets at 2026-03-09T00:00:00Z")},
		{"week on a Monday", "week", 0, 2, access.Spend{Cost: 2.5}, utc(2026, 3, 9, 0, 0, 0),
			budgetExhausted(7*24*time.Hour, "budget exhausted: $2.50 of $2.00 used this week; resets at 2026-03-16T00:00:00Z")},
		{"for ever", "", 1000, 0, access.Spend{Tokens: 1000}, utc(2026, 3, 10, 18, 0, 0),
			budgetExhausted(0, "budget exhausted: 1000 of 1000 tokens used; this budget does not reset, ask the operator to raise it")},
		{"both, cost used up", "day", 100, 1, access.Spend{Tokens: 10, Cost: 1}, utc(2026, 3, 10, 18, 0, 0),
			budgetExhausted(6*time.Hour, "budget exhausted: $1.00 of $1.00 used this day; resets at 2026-03-11T00:00:00Z")},
		{"both, tokens used up", "day", 100, 1, access.Spend{Tokens: 100, Cost: 0.5}, utc(2026, 3, 10, 18, 0, 0),
			budgetExhausted(6*time.Hour, "budget exhausted: 100 of 100 tokens used this day; resets at 2026-03-11T00:00:00Z")},
		{"both left", "day", 100, 1, access.Spend{Tokens: 99, Cost: 0.99}, utc(2026, 3, 10, 18, 0, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(tt.now)
			src := newFakeUsage(map[string]access.Spend{"k": tt.spent, "other": {Tokens: 1 << 40, Cost: 1e9}})
			c := newChecker(clock, access.Options{Ledger: access.NewLedger(src, clock.Now)})
			p := &auth.Principal{KeyID: "k", BudgetTokens: tt.budgetTokens, BudgetCost: tt.budgetCost, BudgetPeriod: tt.period}
			_, err := c.Admit(context.Background(), p, chat(-1))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Admit = %v, want admitted", err)
				}
			} else if diff := cmp.Diff(tt.want, asAPIError(t, err)); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
			start, _ := access.PeriodBounds(tt.period, tt.now)
			want := []store.UsageQuery{{From: start, KeyID: "k"}}
			if diff := cmp.Diff(want, src.recorded()); diff != "" {
				t.Errorf("usage queries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdmitBudgetWithoutLedger(t *testing.T) {
	c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
	p := &auth.Principal{KeyID: "k", BudgetTokens: 1, BudgetPeriod: "day"}
	admitN(t, c, p, chat(-1), 3)
}

// TestAdmitBudgetFailsOpen: a store outage is no reason to refuse every
// request.
func TestAdmitBudgetFailsOpen(t *testing.T) {
	clock := limitstest.NewClock(utc(2026, 3, 10, 18, 0, 0))
	src := newFakeUsage(map[string]access.Spend{"k": {Tokens: 1000}})
	errStore := errors.New("database is down")
	src.setErr(errStore)
	l := access.NewLedger(src, clock.Now)
	c := newChecker(clock, access.Options{Ledger: l})
	p := &auth.Principal{KeyID: "k", BudgetTokens: 100, BudgetPeriod: "day"}

	admitN(t, c, p, chat(-1), 2)
	if got := len(src.recorded()); got != 2 {
		t.Errorf("usage queries = %d, want 2 (an unread budget is not cached)", got)
	}
	if _, err := l.Spent(context.Background(), "k", "day", clock.Now()); !errors.Is(err, errStore) {
		t.Errorf("Spent = %v, want an error wrapping %v", err, errStore)
	}

	// Once the store answers, the budget holds again.
	src.setErr(nil)
	if e := refused(t, c, p, chat(-1)); e.Code != "budget_exhausted" {
		t.Errorf("code %q, want budget_exhausted", e.Code)
	}
}

// TestSettleSpendsBudget: what this replica's requests use counts at once,
// without waiting for the usage records.
func TestSettleSpendsBudget(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(utc(2026, 3, 10, 18, 0, 0))
	src := newFakeUsage(map[string]access.Spend{"k": {Tokens: 20}})
	c := newChecker(clock, access.Options{Ledger: access.NewLedger(src, clock.Now)})
	p := &auth.Principal{KeyID: "k", RPM: 2, BudgetTokens: 100, BudgetPeriod: "day"}

	g, err := c.Admit(ctx, p, chat(-1))
	if err != nil {
		t.Fatal(err)
	}
	c.Settle(ctx, g, 80, 0.25)
	want := budgetExhausted(6*time.Hour, "budget exhausted: 100 of 100 tokens used this day; resets at 2026-03-11T00:00:00Z")
	for range 3 {
		if diff := cmp.Diff(want, refused(t, c, p, chat(-1))); diff != "" {
			t.Fatalf("after Settle (-want +got):\n%s", diff)
		}
	}
	// The budget refusals took nothing from the key's rpm: the same key
	// without a budget has exactly one of its two requests left.
	noBudget := &auth.Principal{KeyID: "k", RPM: 2}
	admitN(t, c, noBudget, chat(-1), 1)
	if e := refused(t, c, noBudget, chat(-1)); e.Code != "rate_limit_exceeded" {
		t.Errorf("code %q, want rate_limit_exceeded", e.Code)
	}
}

func TestLedgerAddUntilRefresh(t *testing.T) {
	ctx := context.Background()
	now := utc(2026, 3, 10, 18, 0, 0)
	day := utc(2026, 3, 10, 0, 0, 0)
	src := newFakeUsage(map[string]access.Spend{"k1": {Tokens: 50, Cost: 0.5}})
	l := access.NewLedger(src, func() time.Time { return now })

	spent := func(keyID, period string, at time.Time) access.Spend {
		t.Helper()
		s, err := l.Spent(ctx, keyID, period, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	check := func(step string, got, want access.Spend) {
		t.Helper()
		if got != want {
			t.Errorf("%s: Spent = %+v, want %+v", step, got, want)
		}
	}

	// Adding to a key not yet read does nothing: its first read has it.
	l.Add("k1", access.Spend{Tokens: 1000, Cost: 10})
	check("first read", spent("k1", "day", now), access.Spend{Tokens: 50, Cost: 0.5})
	check("cached", spent("k1", "day", now.Add(time.Hour)), access.Spend{Tokens: 50, Cost: 0.5})
	if diff := cmp.Diff([]store.UsageQuery{{From: day, KeyID: "k1"}}, src.recorded()); diff != "" {
		t.Fatalf("queries after two reads (-want +got):\n%s", diff)
	}

	l.Add("k1", access.Spend{Tokens: 30, Cost: 0.25})
	l.Add("k1", access.Spend{Tokens: 5})
	check("after Add", spent("k1", "day", now), access.Spend{Tokens: 85, Cost: 0.75})

	// The store catches up with this replica's 35 tokens and another's 15:
	// the local additions are not counted twice after a Refresh.
	src.set("k1", access.Spend{Tokens: 100, Cost: 1})
	check("store moved, not refreshed", spent("k1", "day", now), access.Spend{Tokens: 85, Cost: 0.75})
	if err := l.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check("after Refresh", spent("k1", "day", now), access.Spend{Tokens: 100, Cost: 1})
	l.Add("k1", access.Spend{Tokens: 1})
	check("Add after Refresh", spent("k1", "day", now), access.Spend{Tokens: 101, Cost: 1})

	// A failed refresh keeps the last figures.
	errStore := errors.New("database is down")
	src.setErr(errStore)
	if err := l.Refresh(ctx); !errors.Is(err, errStore) {
		t.Errorf("Refresh = %v, want an error wrapping %v", err, errStore)
	}
	src.setErr(nil)
	check("after a failed Refresh", spent("k1", "day", now), access.Spend{Tokens: 101, Cost: 1})

	// The next period is read afresh.
	src.set("k1", access.Spend{Tokens: 7})
	check("next day", spent("k1", "day", now.Add(24*time.Hour)), access.Spend{Tokens: 7})
	last := src.recorded()[len(src.recorded())-1]
	if want := (store.UsageQuery{From: day.Add(24 * time.Hour), KeyID: "k1"}); !cmp.Equal(last, want) {
		t.Errorf("query for the next day = %+v, want %+v", last, want)
	}
	// So is a changed period.
	src.set("k1", access.Spend{Tokens: 9})
	check("period now month", spent("k1", "month", now.Add(24*time.Hour)), access.Spend{Tokens: 9})
}

// TestLedgerRefreshOneQueryPerStart: keys whose periods start at the same
// instant share one grouped query.
func TestLedgerRefreshOneQueryPerStart(t *testing.T) {
	ctx := context.Background()
	now := utc(2026, 3, 10, 18, 0, 0)
	src := newFakeUsage(map[string]access.Spend{"a": {Tokens: 1}, "b": {Tokens: 2}, "c": {Tokens: 3}})
	l := access.NewLedger(src, func() time.Time { return now })
	for _, k := range []struct{ id, period string }{{"a", "day"}, {"b", "day"}, {"c", "month"}} {
		if _, err := l.Spent(ctx, k.id, k.period, now); err != nil {
			t.Fatal(err)
		}
	}
	before := len(src.recorded())
	src.set("a", access.Spend{Tokens: 10})
	src.set("c", access.Spend{Tokens: 30})
	src.forget("b") // nothing in the records any more: back to zero
	if err := l.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[time.Time]int{}
	for _, q := range src.recorded()[before:] {
		if q.GroupBy != store.GroupByKey || q.KeyID != "" {
			t.Errorf("Refresh query %+v, want one grouped by key over every key", q)
		}
		got[q.From]++
	}
	want := map[time.Time]int{utc(2026, 3, 10, 0, 0, 0): 1, utc(2026, 3, 1, 0, 0, 0): 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Refresh queries per start (-want +got):\n%s", diff)
	}
	for id, want := range map[string]int64{"a": 10, "b": 0, "c": 30} {
		period := "day"
		if id == "c" {
			period = "month"
		}
		s, err := l.Spent(ctx, id, period, now)
		if err != nil || s.Tokens != want {
			t.Errorf("Spent(%s) = %+v, %v; want %d tokens", id, s, err, want)
		}
	}
}

// TestLedgerRun: Run refreshes on its ticker, forgets keys whose period has
// ended, and returns when its context is cancelled (goleak checks nothing
// is left behind).
func TestLedgerRun(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(utc(2026, 3, 10, 18, 0, 0))
	src := newFakeUsage(map[string]access.Spend{"daily": {Tokens: 1}, "monthly": {Tokens: 2}})
	src.grouped = make(chan store.UsageQuery, 1)
	l := access.NewLedger(src, clock.Now)
	for _, k := range []struct{ id, period string }{{"daily", "day"}, {"monthly", "month"}} {
		if _, err := l.Spent(ctx, k.id, k.period, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// The day is over; the month is not.
	clock.Advance(24 * time.Hour)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(runCtx, time.Millisecond)
	}()
	select {
	case <-src.grouped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run made no refresh query within 10s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context being cancelled")
	}

	for _, q := range src.recorded() {
		if q.GroupBy == store.GroupByKey && !q.From.Equal(utc(2026, 3, 1, 0, 0, 0)) {
			t.Errorf("Run refreshed from %v, want only the month's start (the day's key was dropped)", q.From)
		}
	}
}

func TestLedgerRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := access.NewLedger(newFakeUsage(nil), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, 0) // the default period; returns before its first tick
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run with a cancelled context did not return")
	}
}
