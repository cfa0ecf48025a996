package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// sessionStart is 10 s into a 30 s session window.
var sessionStart = time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC)

// TestSessionSlots: a key's parallel sessions are capped; closing one
// frees its slot; a live session renews its slot in each new window, and
// one that stops renewing (its replica died) no longer counts there.
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
		t.Errorf("RenewIn = %v, want %v (the window's end)", got, want)
	}
	b.Close(ctx)
	b, err = open()
	if err != nil {
		t.Fatalf("after a close: %v, want the freed slot", err)
	}

	// Next window: a renews, b's replica died and does not.
	clock.Advance(25 * time.Second)
	a.Renew(ctx)
	a.Renew(ctx) // once per window
	if _, err := open(); err != nil {
		t.Fatalf("after b expired: %v, want its slot free", err)
	}
	if _, err := open(); err == nil {
		t.Fatal("a third session while a and the new one are open, want a refusal")
	}
	// Closing b, counted only in the earlier window, gives nothing back.
	b.Close(ctx)
	if _, err := open(); err == nil {
		t.Fatal("a stale close freed a slot it no longer held")
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
