package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// TestClampedEstimate: under the clamp policy the tpm estimate is what the
// request is sent with, not the max_tokens it asked for.
func TestClampedEstimate(t *testing.T) {
	c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{MaxTokensPolicy: access.PolicyClamp})
	p := &auth.Principal{KeyID: "k", TPM: 1000, MaxTokens: 100}
	g, err := c.Admit(context.Background(), p, chat(100_000))
	if err != nil {
		t.Fatalf("Admit clamped request: %v, want admitted", err)
	}
	if g.MaxTokens != 100 || g.Estimate != 100 {
		t.Errorf("Grant = MaxTokens %d, Estimate %d; want 100, 100", g.MaxTokens, g.Estimate)
	}
}

// TestSettleAcrossMinute: a request admitted in one minute and settled in
// the next corrects nothing, since the new minute never counted its
// estimate.
func TestSettleAcrossMinute(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 11, 22, 12, 0, 50, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	p := &auth.Principal{KeyID: "k", TPM: 1000}
	a, err := c.Admit(context.Background(), p, chat(900))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Second) // 12:01:10
	if _, err := c.Admit(context.Background(), p, chat(900)); err != nil {
		t.Fatalf("B in the new minute: %v, want admitted", err)
	}
	c.Settle(context.Background(), a, 100, 0)
	if _, err := c.Admit(context.Background(), p, chat(900)); err == nil {
		t.Fatal("C admitted after A's late settle: 1800 tokens in one minute for a tpm of 1000")
	}
}

// TestSettleWithoutLimitsAllocatesNothing: settling a request of a key
// without limits or budgets, the plain path's every request, has nothing
// to correct and allocates nothing.
func TestSettleWithoutLimitsAllocatesNothing(t *testing.T) {
	c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
	p := &auth.Principal{KeyID: "k"}
	g, err := c.Admit(context.Background(), p, chat(100))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if got := testing.AllocsPerRun(100, func() { c.Settle(ctx, g, 17, 0.001) }); got != 0 {
		t.Errorf("Settle allocated %v times per call, want 0", got)
	}
}

// TestSettleCorrectionAllocs: settling a request of a key and a team with
// tpm limits, with the deployment's correction in the same call (the
// gateway's settle), allocates only the tpm keys' one string: the
// corrections are in a pooled buffer, the deployment's stays on the
// caller's stack, where the buffer, each tpm key and the deployment's
// correction each were an allocation.
func TestSettleCorrectionAllocs(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	lim := limits.NewMemory(clock.Now)
	c := newChecker(clock, access.Options{Limiter: lim})
	p := &auth.Principal{KeyID: "k", TPM: 1 << 40, Team: &auth.Team{ID: "red", TPM: 1 << 40}}
	ctx := context.Background()
	g, err := c.Admit(ctx, p, chat(100))
	if err != nil {
		t.Fatal(err)
	}
	dep := limits.Adjustment{Key: "deployment:tpm:a", Window: time.Minute, Delta: -1, At: clock.Now()}
	c.Settle(ctx, g, 17, 0.001, dep)
	for _, key := range []string{"key:tpm:k", "team:tpm:red"} {
		d, err := lim.Take(ctx, key, 1<<40, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.Remaining, int64(1<<40)-17; got != want {
			t.Errorf("%s remaining after a settle of 17 tokens = %d, want %d", key, got, want)
		}
	}
	if got, want := testing.AllocsPerRun(100, func() { c.Settle(ctx, g, 17, 0.001, dep) }), 1.0; got != want {
		t.Errorf("Settle with corrections allocated %v times per call, want %v (the tpm keys)", got, want)
	}
}
