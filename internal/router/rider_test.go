package router

import (
	"context"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
)

// countingLimiter is a Multi that counts the TakeAll calls made of it.
type countingLimiter struct {
	*limits.Memory
	calls int
}

func (c *countingLimiter) TakeAll(ctx context.Context, ls []limits.Limit, out []limits.Decision) error {
	c.calls++
	return c.Memory.TakeAll(ctx, ls, out)
}

// TestPlanRider: a caller's limits ride with the plan's first pick, taken
// in the same limiter call as the deployment's, all or nothing; a full
// first deployment sends the rider on to the next one, a refused rider
// stops the plan with nothing taken, and a failover takes only the next
// deployment's limits.
func TestPlanRider(t *testing.T) {
	tests := []struct {
		name      string
		deps      []config.Deployment
		caller    int64 // the caller's rpm
		used      int64 // of it, already taken
		fillA     bool  // deployment a's rpm is full, unknown to the router
		failover  bool  // the first pick fails and the plan moves on
		wantPick  string
		wantCalls int
		wantState riderState
		wantAUsed int64 // a's rpm count after
		wantBUsed int64
		wantLeft  int64 // the caller's rpm left after
	}{
		{name: "caller and deployment in one call", deps: []config.Deployment{limitsTestDeployment("a", 1, 10, 0), limitsTestDeployment("b", 2, 10, 0)},
			caller: 5, wantPick: "a", wantCalls: 1, wantState: riderTaken, wantAUsed: 1, wantLeft: 4},
		{name: "full first deployment: a second call with the next", deps: []config.Deployment{limitsTestDeployment("a", 1, 10, 0), limitsTestDeployment("b", 2, 10, 0)},
			caller: 5, fillA: true, wantPick: "b", wantCalls: 2, wantState: riderTaken, wantAUsed: 10, wantBUsed: 1, wantLeft: 4},
		{name: "caller at its limit: refused, nothing taken", deps: []config.Deployment{limitsTestDeployment("a", 1, 10, 0), limitsTestDeployment("b", 2, 10, 0)},
			caller: 5, used: 5, wantCalls: 1, wantState: riderRefused, wantLeft: 0},
		{name: "deployment without limits: the rider alone", deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 0)},
			caller: 5, wantPick: "a", wantCalls: 1, wantState: riderTaken, wantLeft: 4},
		{name: "failover takes the next deployment's only", deps: []config.Deployment{limitsTestDeployment("a", 1, 10, 0), limitsTestDeployment("b", 2, 10, 0)},
			caller: 5, failover: true, wantPick: "b", wantCalls: 2, wantState: riderTaken, wantAUsed: 1, wantBUsed: 1, wantLeft: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &routerTestClock{}
			clk.ns.Store(limitsTestStart.UnixNano())
			lim := &countingLimiter{Memory: limits.NewMemory(clk.Now)}
			r := newRouterTest(t, clk, Options{Strategy: "round-robin", Limiter: lim}, tt.deps...)
			ctx := context.Background()
			if tt.used > 0 {
				if _, err := lim.Take(ctx, "caller", tt.caller, time.Minute, tt.used); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fillA {
				if _, err := lim.Take(ctx, "deployment:rpm:a", 10, time.Minute, 10); err != nil {
					t.Fatal(err)
				}
			}
			rider := Rider{Limiter: lim, Limits: []limits.Limit{{Key: "caller", Limit: tt.caller, Window: time.Minute, Cost: 1}}, Out: make([]limits.Decision, 1)}
			var plan Plan
			if err := r.StartPlan(&plan, "m", config.ClassChat, 1); err != nil {
				t.Fatal(err)
			}
			plan.Carry(&rider)
			pick, ok := plan.Next(ctx, nil)
			if ok && tt.failover {
				plan.Failed(pick, Outcome{Verdict: Transient, Reason: "502"}, time.Millisecond)
				pick, ok = plan.Next(ctx, nil)
			}
			got := ""
			if ok {
				got = pick.ID()
				r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
			}
			if got != tt.wantPick {
				t.Errorf("picked %q, want %q", got, tt.wantPick)
			}
			if got, want := lim.calls, tt.wantCalls; got != want {
				t.Errorf("%d limiter calls, want %d", got, want)
			}
			if got, want := rider.state, tt.wantState; got != want {
				t.Errorf("rider state %d, want %d", got, want)
			}
			if got, want := rider.Refused(), tt.wantState == riderRefused; got != want {
				t.Errorf("Refused() = %v, want %v", got, want)
			}
			for _, c := range []struct {
				key         string
				limit, used int64
			}{{"deployment:rpm:a", 10, tt.wantAUsed}, {"deployment:rpm:b", 10, tt.wantBUsed}, {"caller", tt.caller, tt.caller - tt.wantLeft}} {
				d, err := lim.Take(ctx, c.key, c.limit, time.Minute, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := c.limit-d.Remaining, c.used; got != want {
					t.Errorf("%s: %d used, want %d", c.key, got, want)
				}
			}
		})
	}
}
