package access_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

func TestModelsWithTeam(t *testing.T) {
	tests := []struct {
		name       string
		key, team  []string
		event      []string
		want       []string
		model      string
		wantRefuse bool
	}{
		{"team only", nil, []string{"gpt-4o"}, nil, []string{"gpt-4o"}, "gpt-4o", false},
		{"team only, out", nil, []string{"gpt-4o"}, nil, []string{"gpt-4o"}, "o3", true},
		{"key and team", []string{"a", "b"}, []string{"b", "c"}, nil, []string{"b"}, "b", false},
		{"key allows what the team does not", []string{"a", "b"}, []string{"b", "c"}, nil, []string{"b"}, "a", true},
		{"team allows what the key does not", []string{"a", "b"}, []string{"b", "c"}, nil, []string{"b"}, "c", true},
		{"key, team and event", []string{"a", "b", "c"}, []string{"b", "c"}, []string{"c"}, []string{"c"}, "c", false},
		{"team empty list allows any", []string{"a"}, []string{}, nil, []string{"a"}, "a", false},
		{"disjoint", []string{"a"}, []string{"z"}, nil, []string{}, "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &auth.Principal{KeyID: "k", Models: tt.key, Team: &auth.Team{ID: "t", Models: tt.team}}
			if tt.event != nil {
				p.Event = openEvent("e")
				p.Event.Start, p.Event.End = limitstest.Start.Add(-time.Hour), limitstest.Start.Add(time.Hour)
				p.Event.Models = tt.event
			}
			if diff := cmp.Diff(tt.want, access.Models(p)); diff != "" {
				t.Errorf("Models (-want +got):\n%s", diff)
			}
			c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
			r := chat(-1)
			r.Model = tt.model
			_, err := c.Admit(context.Background(), p, r)
			if got := err != nil; got != tt.wantRefuse {
				t.Fatalf("Admit(%q) error = %v, want refused %v", tt.model, err, tt.wantRefuse)
			}
			if err != nil {
				if e := asAPIError(t, err); e.Status != http.StatusForbidden || e.Code != "model_not_allowed" {
					t.Errorf("refusal = %d %s, want 403 model_not_allowed", e.Status, e.Code)
				}
			}
		})
	}
}

// TestAdmitTeamRPMShared: the keys of a team share its rpm; each key's
// own limit still applies; a refusal by either gives back what the other
// took.
func TestAdmitTeamRPMShared(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	lim := limits.NewMemory(clock.Now)
	c := newChecker(clock, access.Options{Limiter: lim})
	team := &auth.Team{ID: "red", Name: "Red", RPM: 3}
	a := &auth.Principal{KeyID: "a", Team: team}
	b := &auth.Principal{KeyID: "b", Team: team, RPM: 10}
	solo := &auth.Principal{KeyID: "solo"}

	admitN(t, c, a, chat(-1), 2)
	admitN(t, c, b, chat(-1), 1)
	want := &apierror.Error{
		Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: 45 * time.Second,
		Message: `rate limit of 3 requests per minute reached for team "Red" (red); retry after 45s`,
	}
	if diff := cmp.Diff(want, refused(t, c, b, chat(-1))); diff != "" {
		t.Errorf("4th request of the team (-want +got):\n%s", diff)
	}
	refused(t, c, a, chat(-1))
	admitN(t, c, solo, chat(-1), 5) // a key of no team is not held back

	// b's own count was given back when the team refused it: 1 of 10 used.
	if d, err := lim.Take(context.Background(), "key:rpm:b", 10, time.Minute, 0); err != nil || d.Remaining != 9 {
		t.Errorf("b's own rpm after the team refused = %d left, %v; want 9 (the refused request given back)", d.Remaining, err)
	}

	clock.Advance(45 * time.Second)
	admitN(t, c, a, chat(-1), 3)

	// A key's own limit refuses first, and takes nothing from the team.
	clock.Advance(time.Minute)
	tight := &auth.Principal{KeyID: "tight", Team: team, RPM: 1}
	admitN(t, c, tight, chat(-1), 1)
	if e := refused(t, c, tight, chat(-1)); e.Message != "rate limit of 1 requests per minute reached for this key; retry after 60s" {
		t.Errorf("tight's 2nd request: %q, want its own limit named", e.Message)
	}
	admitN(t, c, a, chat(-1), 2) // the team has 2 of 3 left
}

// TestAdmitTeamTPMSettles: the team's tpm is counted with the request's
// estimate and corrected to what it used, like the key's.
func TestAdmitTeamTPMSettles(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	lim := limits.NewMemory(clock.Now)
	c := newChecker(clock, access.Options{Limiter: lim})
	team := &auth.Team{ID: "blue", TPM: 300}
	a := &auth.Principal{KeyID: "a", Team: team, TPM: 1000}
	b := &auth.Principal{KeyID: "b", Team: team}

	g, err := c.Admit(ctx, a, chat(200))
	if err != nil {
		t.Fatal(err)
	}
	if e := refused(t, c, b, chat(200)); e.Code != "rate_limit_exceeded" {
		t.Errorf("b's 200 tokens with 100 of the team's left: %s, want rate_limit_exceeded", e.Code)
	}
	c.Settle(ctx, g, 50, 0) // a used 50 of the 200 it asked for
	admitN(t, c, b, chat(200), 1)
	for _, tc := range []struct {
		key   string
		limit int64
		want  int64
	}{{"team:tpm:blue", 300, 50}, {"key:tpm:a", 1000, 950}} {
		if d, err := lim.Take(ctx, tc.key, tc.limit, time.Minute, 0); err != nil || d.Remaining != tc.want {
			t.Errorf("%s left = %d, %v; want %d", tc.key, d.Remaining, err, tc.want)
		}
	}
	want := "this request needs about 400 tokens (prompt and max_tokens), more than team \"blue\"'s limit of 300 tokens per minute; send fewer tokens or a lower max_tokens"
	if e := refused(t, c, b, chat(400)); e.Code != "tokens_exceed_limit" || e.Message != want {
		t.Errorf("a request above the team's whole limit: %s %q, want tokens_exceed_limit %q", e.Code, e.Message, want)
	}
}

// TestAdmitTeamBudget reads a team's spend from real usage records in
// SQLite, across all its keys, and refuses once the day's or the month's
// budget is spent.
func TestAdmitTeamBudget(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 10, 18, 0, 0, 0, time.UTC)
	records := []usage.Record{
		{Time: now.AddDate(0, 0, -3), RequestID: "r1", KeyID: "a", TeamID: "green", Model: "m", Status: 200, Cost: 30},
		{Time: now.Add(-time.Hour), RequestID: "r2", KeyID: "a", TeamID: "green", Model: "m", Status: 200, Cost: 4},
		{Time: now.Add(-time.Hour), RequestID: "r3", KeyID: "b", TeamID: "green", Model: "m", Status: 200, Cost: 5},
		{Time: now.Add(-time.Hour), RequestID: "r4", KeyID: "x", TeamID: "other", Model: "m", Status: 200, Cost: 100},
		{Time: now.AddDate(0, -1, 0), RequestID: "r5", KeyID: "a", TeamID: "green", Model: "m", Status: 200, Cost: 100},
	}
	if err := st.InsertUsage(ctx, records); err != nil {
		t.Fatal(err)
	}
	// Spent: today 9, this month 39.
	midnight := time.Date(2026, 6, 11, 0, 0, 0, 0, time.UTC)
	monthEnd := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		daily, monthly float64
		want           *apierror.Error // nil: admitted
	}{
		{"no budget", 0, 0, nil},
		{"daily left", 10, 0, nil},
		{"daily spent", 9, 0, &apierror.Error{
			Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted", RetryAfter: midnight.Sub(now),
			Message: `team "green" budget exhausted: $9.00 of $9.00 used this day by all its keys; resets at 2026-06-11T00:00:00Z, or ask the operator to raise it`,
		}},
		{"monthly left", 0, 40, nil},
		{"monthly spent", 100, 39, &apierror.Error{
			Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted", RetryAfter: monthEnd.Sub(now),
			Message: `team "green" budget exhausted: $39.00 of $39.00 used this month by all its keys; resets at 2026-07-01T00:00:00Z, or ask the operator to raise it`,
		}},
		{"both spent: the month is named", 5, 20, &apierror.Error{
			Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "budget_exhausted", RetryAfter: monthEnd.Sub(now),
			Message: `team "green" budget exhausted: $39.00 of $20.00 used this month by all its keys; resets at 2026-07-01T00:00:00Z, or ask the operator to raise it`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(now)
			c := newChecker(clock, access.Options{Ledger: access.NewLedger(st, clock.Now)})
			p := &auth.Principal{KeyID: "c", Team: &auth.Team{ID: "green", BudgetDaily: tt.daily, BudgetMonthly: tt.monthly}}
			_, err := c.Admit(ctx, p, chat(-1))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Admit = %v, want admitted", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, asAPIError(t, err)); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}

	// This replica's own requests count before the next refresh: with $1
	// of the day's $10 left, a request costing $1 spends it.
	clock := limitstest.NewClock(now)
	c := newChecker(clock, access.Options{Ledger: access.NewLedger(st, clock.Now)})
	p := &auth.Principal{KeyID: "c", Team: &auth.Team{ID: "green", BudgetDaily: 10}}
	g, err := c.Admit(ctx, p, chat(-1))
	if err != nil {
		t.Fatal(err)
	}
	c.Settle(ctx, g, 100, 1)
	if e := refused(t, c, p, chat(-1)); e.Code != "budget_exhausted" {
		t.Errorf("after spending the last dollar: %s, want budget_exhausted", e.Code)
	}
	// The next day the budget is back.
	clock.Advance(6 * time.Hour)
	admitN(t, c, p, chat(-1), 1)

	// What another replica spent arrives with the next refresh.
	ledger := access.NewLedger(st, clock.Now)
	c = newChecker(clock, access.Options{Ledger: ledger})
	admitN(t, c, p, chat(-1), 1)
	other := usage.Record{Time: clock.Now(), RequestID: "r6", KeyID: "b", TeamID: "green", Model: "m", Status: 200, Cost: 10}
	if err := st.InsertUsage(ctx, []usage.Record{other}); err != nil {
		t.Fatal(err)
	}
	admitN(t, c, p, chat(-1), 1) // not seen yet
	if err := ledger.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if e := refused(t, c, p, chat(-1)); e.Code != "budget_exhausted" {
		t.Errorf("after a refresh that saw another replica's $10: %s, want budget_exhausted", e.Code)
	}
}

// BenchmarkAdmitTeam is BenchmarkAdmit for a key of a team with its own
// rpm, tpm and allow-list: two more counted limits per request.
func BenchmarkAdmitTeam(b *testing.B) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := access.New(access.Options{Limiter: limits.NewMemory(clock), Now: clock, Logger: slog.New(slog.DiscardHandler)})
	team := &auth.Team{ID: "search", RPM: 1 << 40, TPM: 1 << 50, Models: []string{"gpt-4o", "o3"}}
	p := &auth.Principal{KeyID: "k", RPM: 1 << 40, TPM: 1 << 50, Models: []string{"gpt-4o", "gpt-4o-mini"}, Team: team}
	r := chat(-1)
	r.PromptTokens = access.PromptFunc(func() int64 { return 200 })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Admit(ctx, p, r); err != nil {
			b.Fatal(err)
		}
	}
}
