package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// sessionStart is when the tests' sessions open.
var sessionStart = time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC)

// TestSessionSlots: a key's parallel sessions are capped; closing one
// frees its slot; a live session that renews keeps its slot for as long
// as it lives, and one that stops renewing (its replica died) no longer
// counts once its lease ends. At no moment are more than the cap held:
// the old fixed windows let a key briefly hold twice its cap at each
// window's start.
func TestSessionSlots(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(sessionStart)
	c := newChecker(clock, access.Options{})
	p := &auth.Principal{KeyID: "k"}
	open := func() (*access.Slot, error) { return c.OpenSession(ctx, p, 2) }

	a, err := open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(); err == nil || asAPIError(t, err).Code != "too_many_sessions" || asAPIError(t, err).Status != 429 {
		t.Fatalf("third session: %v, want 429 too_many_sessions", err)
	}
	if got, want := a.RenewIn(), 20*time.Second; got != want {
		t.Errorf("RenewIn = %v, want %v (a third of the lease)", got, want)
	}
	b.Close(ctx)
	b, err = open()
	if err != nil {
		t.Fatalf("after a close: %v, want the freed slot", err)
	}

	// a renews as the relay does; b's replica died and does not. Until
	// b's lease ends nothing more is given, at every step.
	for step := 1; step <= 2; step++ {
		clock.Advance(a.RenewIn())
		a.Renew(ctx)
		if _, err := open(); err == nil {
			t.Fatalf("%v in, with a and b held: a third session was given", time.Duration(step)*a.RenewIn())
		}
	}
	clock.Advance(a.RenewIn()) // 60 s: b's lease has ended, a's runs to 100 s
	a.Renew(ctx)
	if _, err := open(); err != nil {
		t.Fatalf("after b's lease ended: %v, want its slot free", err)
	}
	if _, err := open(); err == nil {
		t.Fatal("a third session while a and the new one are open, want a refusal")
	}
	// Closing b, whose slot lapsed and went to another, frees nothing.
	b.Close(ctx)
	if _, err := open(); err == nil {
		t.Fatal("a stale close freed a slot it no longer held")
	}
	if got := c.AdjustFailures(); got != 0 {
		t.Errorf("AdjustFailures = %d, want 0 (every renewal held)", got)
	}
}

// TestSessionSlotLapsed: a session whose renewals stopped for a whole
// lease, and whose slot another session took, cannot renew it; the
// failure is counted, not hidden.
func TestSessionSlotLapsed(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(sessionStart)
	c := newChecker(clock, access.Options{})
	p := &auth.Principal{KeyID: "k"}
	a, err := c.OpenSession(ctx, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second)
	if _, err := c.OpenSession(ctx, p, 1); err != nil {
		t.Fatalf("after a's lease ended: %v, want its slot", err)
	}
	a.Renew(ctx)
	if got, want := c.AdjustFailures(), int64(1); got != want {
		t.Errorf("AdjustFailures after a lapsed renewal = %d, want %d", got, want)
	}
}

func TestSessionSlotNoCap(t *testing.T) {
	c := newChecker(limitstest.NewClock(sessionStart), access.Options{})
	s, err := c.OpenSession(context.Background(), &auth.Principal{KeyID: "k"}, 0)
	if s != nil || err != nil {
		t.Fatalf("OpenSession with no cap = %v, %v; want nil, nil", s, err)
	}
	// A nil slot does nothing.
	s.Renew(context.Background())
	s.Close(context.Background())
	if got := s.RenewIn(); got != 0 {
		t.Errorf("nil RenewIn = %v, want 0", got)
	}
}

// TestChargeAndExhausted: each response of a session is added to the
// key's tpm count and budget; Exhausted says when either has no room.
func TestChargeAndExhausted(t *testing.T) {
	tests := []struct {
		name     string
		p        auth.Principal
		charges  []int64
		cost     float64 // of each charge
		wantCode string  // "" while there is room
	}{
		{"tpm room", auth.Principal{KeyID: "k", TPM: 100}, []int64{40, 40}, 0, ""},
		{"tpm used up", auth.Principal{KeyID: "k", TPM: 100}, []int64{40, 70}, 0, "rate_limit_exceeded"},
		{"budget room", auth.Principal{KeyID: "k", BudgetTokens: 100, BudgetPeriod: "day"}, []int64{40, 40}, 0, ""},
		{"budget used up", auth.Principal{KeyID: "k", BudgetTokens: 100, BudgetPeriod: "day"}, []int64{40, 70}, 0, "budget_exhausted"},
		{"no limits", auth.Principal{KeyID: "k"}, []int64{1000}, 0, ""},
		{"team tpm room", auth.Principal{KeyID: "k", Team: &auth.Team{ID: "red", Name: "Red", TPM: 100}}, []int64{40, 40}, 0, ""},
		{"team tpm used up", auth.Principal{KeyID: "k", Team: &auth.Team{ID: "red", Name: "Red", TPM: 100}}, []int64{40, 70}, 0, "rate_limit_exceeded"},
		{"team budget used up", auth.Principal{KeyID: "k", Team: &auth.Team{ID: "red", Name: "Red", BudgetDaily: 1}}, []int64{40, 70}, 0.6, "budget_exhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := limitstest.NewClock(sessionStart)
			c := newChecker(clock, access.Options{Ledger: access.NewLedger(newFakeUsage(nil), clock.Now)})
			g, err := c.Admit(ctx, &tt.p, access.Request{Model: "gpt-realtime", MaxTokens: -1})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.charges {
				c.Charge(ctx, g, n, tt.cost)
			}
			err = c.Exhausted(ctx, g)
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("Exhausted = %v, want room", err)
			case tt.wantCode != "" && (err == nil || asAPIError(t, err).Code != tt.wantCode):
				t.Errorf("Exhausted = %v, want %s", err, tt.wantCode)
			}
		})
	}
}
