package router

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCircuitThreshold(t *testing.T) {
	T, S := Outcome{Verdict: Transient, Reason: "upstream 500"}, Outcome{Verdict: Success}
	tests := []struct {
		name     string
		outcomes []Outcome
		want     string // circuit after the sequence
	}{
		{name: "below threshold", outcomes: []Outcome{T, T}, want: "closed"},
		{name: "at threshold", outcomes: []Outcome{T, T, T}, want: "open"},
		{name: "success resets the count", outcomes: []Outcome{T, T, S, T, T}, want: "closed"},
		{name: "caller error resets the count", outcomes: []Outcome{T, T, {Verdict: CallerError}, T, T}, want: "closed"},
		{name: "context too long resets the count", outcomes: []Outcome{T, T, {Verdict: ContextTooLong}, T, T}, want: "closed"},
		{name: "auth failures count", outcomes: []Outcome{{Verdict: AuthFailed}, T, {Verdict: AuthFailed}}, want: "open"},
		{name: "rate limit neither counts nor resets", outcomes: []Outcome{T, T, {Verdict: RateLimited}, T}, want: "open"},
		{name: "quota neither counts nor resets", outcomes: []Outcome{T, T, {Verdict: QuotaExhausted}, T}, want: "open"},
		{name: "deployment gone neither counts nor resets", outcomes: []Outcome{T, T, {Verdict: DeploymentGone}, T}, want: "open"},
		{name: "too large neither counts nor resets", outcomes: []Outcome{T, T, {Verdict: TooLarge}, T}, want: "open"},
		{name: "client gone neither counts nor resets", outcomes: []Outcome{T, T, {Verdict: ClientGone}, T}, want: "open"},
		{name: "throttles alone never open", outcomes: []Outcome{{Verdict: RateLimited}, {Verdict: RateLimited}, {Verdict: RateLimited}, {Verdict: QuotaExhausted}}, want: "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{FailureThreshold: 3, CircuitOpen: time.Hour, Cooldown: time.Second},
				routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 1))
			p := routerTestPool(t, r, "m")
			for _, o := range tt.outcomes {
				switch o.Verdict {
				case RateLimited, QuotaExhausted, DeploymentGone, AuthFailed:
					o.Cooldown = time.Second
				}
				routerTestReport(t, r, p, "a", o)
				clk.Advance(time.Second) // past any cooldown, never past the open circuit
			}
			if got := routerTestStatus(t, r, "a").Circuit; got != tt.want {
				t.Errorf("circuit = %q, want %q", got, tt.want)
			}
			if got, want := routerTestStatus(t, r, "b").Circuit, "closed"; got != want {
				t.Errorf("b circuit = %q, want %q (untouched)", got, want)
			}
		})
	}
}

// circuitTestHalfOpen returns a router whose deployment "a" (alone in tier
// 1; "b" is tier 2) has just turned half-open.
func circuitTestHalfOpen(t *testing.T) (*routerTestClock, *Router, *Pool) {
	t.Helper()
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{FailureThreshold: 2, CircuitOpen: 30 * time.Second, Cooldown: 10 * time.Second},
		routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 2))
	p := routerTestPool(t, r, "m")
	routerTestReport(t, r, p, "a", Outcome{Verdict: Transient})
	routerTestReport(t, r, p, "a", Outcome{Verdict: Transient})
	if got, want := routerTestPicks(r, p, nil, 2), []string{"b", "b"}; !cmp.Equal(got, want) {
		t.Fatalf("circuit open: picks = %v, want %v", got, want)
	}
	clk.Advance(30 * time.Second)
	if got, want := routerTestStatus(t, r, "a").State, "half-open"; got != want {
		t.Fatalf("a state = %q, want %q", got, want)
	}
	return clk, r, p
}

func TestCircuitHalfOpenOneProbe(t *testing.T) {
	clk, r, p := circuitTestHalfOpen(t)
	probe, err := p.Pick(clk.Now(), nil)
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	if got, want := probe.ID(), "a"; got != want {
		t.Fatalf("probe = %s, want %s", got, want)
	}
	if !probe.probe {
		t.Errorf("Pick(a) is not marked as the probe")
	}
	// While the probe is out, a goes to nobody else.
	for i := range 3 {
		other, err := p.Pick(clk.Now(), nil)
		if err != nil {
			t.Fatalf("Pick %d: %v", i, err)
		}
		if got, want := other.ID(), "b"; got != want {
			t.Errorf("Pick %d while the probe is out = %s, want %s", i, got, want)
		}
		r.Report(other, Outcome{Verdict: Success}, 0)
	}
	// With b tried, nothing is left and no deadline is known.
	_, err = p.Pick(clk.Now(), p.Deployments()[1:])
	if diff := cmp.Diff(&UnavailableError{Model: "m"}, err); diff != "" {
		t.Errorf("Pick with the probe out and b tried: error mismatch (-want +got):\n%s", diff)
	}
	if got := p.RetryAt(clk.Now()); !got.IsZero() {
		t.Errorf("RetryAt = %v, want zero (b is available)", got)
	}
	r.Report(probe, Outcome{Verdict: Success}, time.Millisecond)
}

// TestCircuitHalfOpenConcurrentPicks races many Picks on a half-open
// deployment alone in its pool: exactly one gets it.
func TestCircuitHalfOpenConcurrentPicks(t *testing.T) {
	const pickers = 16
	for round := range 20 {
		clk := newRouterTestClock()
		r := newRouterTest(t, clk, Options{FailureThreshold: 1, CircuitOpen: time.Second}, routerTestDeployment("a", "m", 1))
		p := routerTestPool(t, r, "m")
		routerTestReport(t, r, p, "a", Outcome{Verdict: Transient})
		clk.Advance(time.Second)

		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			got   []Pick
			errs  int
		)
		for range pickers {
			wg.Go(func() {
				<-start
				pk, err := p.Pick(clk.Now(), nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					var ue *UnavailableError
					if !errors.As(err, &ue) {
						t.Errorf("Pick error = %T %v, want *UnavailableError", err, err)
					}
					errs++
					return
				}
				got = append(got, pk)
			})
		}
		close(start)
		wg.Wait()
		if len(got) != 1 || errs != pickers-1 {
			t.Fatalf("round %d: %d picks and %d errors, want 1 and %d", round, len(got), errs, pickers-1)
		}
		if got, want := got[0].InFlight(), int64(1); got != want {
			t.Errorf("round %d: in flight = %d, want %d", round, got, want)
		}
		r.Report(got[0], Outcome{Verdict: Success}, 0)
	}
}

func TestCircuitProbeOutcome(t *testing.T) {
	tests := []struct {
		name     string
		outcome  Outcome
		want     string // a's state after the report
		circuit  string // a's circuit after the report
		wantPick []string
	}{
		{name: "success closes", outcome: Outcome{Verdict: Success}, want: "serving", circuit: "closed", wantPick: []string{"a", "a", "a"}},
		{name: "caller error closes", outcome: Outcome{Verdict: CallerError}, want: "serving", circuit: "closed", wantPick: []string{"a", "a", "a"}},
		{name: "context too long closes", outcome: Outcome{Verdict: ContextTooLong}, want: "serving", circuit: "closed", wantPick: []string{"a", "a", "a"}},
		{name: "transient re-opens", outcome: Outcome{Verdict: Transient}, want: "circuit-open", circuit: "open", wantPick: []string{"b", "b"}},
		{name: "auth failure re-opens and cools", outcome: Outcome{Verdict: AuthFailed}, want: "cooling", circuit: "open", wantPick: []string{"b", "b"}},
		// A probe released without a verdict: the next Pick probes again,
		// and only one at a time.
		{name: "client gone releases the probe", outcome: Outcome{Verdict: ClientGone}, want: "half-open", circuit: "half-open", wantPick: []string{"a", "b", "b"}},
		{name: "too large releases the probe", outcome: Outcome{Verdict: TooLarge}, want: "half-open", circuit: "half-open", wantPick: []string{"a", "b", "b"}},
		{name: "rate limited releases the probe and cools", outcome: Outcome{Verdict: RateLimited}, want: "cooling", circuit: "half-open", wantPick: []string{"b", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk, r, p := circuitTestHalfOpen(t)
			probe := routerTestPickID(t, r, p, "a")
			if !probe.probe {
				t.Fatalf("Pick(a) is not the probe")
			}
			r.Report(probe, tt.outcome, time.Millisecond)
			s := routerTestStatus(t, r, "a")
			if got := []any{s.State, s.Circuit, s.InFlight}; !cmp.Equal(got, []any{tt.want, tt.circuit, int64(0)}) {
				t.Errorf("state, circuit, in flight = %v, want %v", got, []any{tt.want, tt.circuit, int64(0)})
			}
			// Picks are held (not reported) so a probe stays out.
			var got []string
			for range tt.wantPick {
				pk, err := p.Pick(clk.Now(), nil)
				if err != nil {
					t.Fatalf("Pick: %v", err)
				}
				got = append(got, pk.ID())
			}
			if !cmp.Equal(got, tt.wantPick) {
				t.Errorf("picks = %v, want %v", got, tt.wantPick)
			}
		})
	}
}

func TestCircuitProbeFailureReopensForAnotherPeriod(t *testing.T) {
	clk, r, p := circuitTestHalfOpen(t)
	clk.Advance(5 * time.Second) // the probe goes out a little after the deadline
	t1 := clk.Now()
	r.Report(routerTestPickID(t, r, p, "a"), Outcome{Verdict: Transient}, 0)
	_, err := p.Pick(clk.Now(), p.Deployments()[1:])
	if diff := cmp.Diff(&UnavailableError{Model: "m", RetryAt: t1.Add(30 * time.Second)}, err); diff != "" {
		t.Errorf("after a failed probe: error mismatch (-want +got):\n%s", diff)
	}
	clk.Advance(30 * time.Second)
	if got, want := routerTestStatus(t, r, "a").State, "half-open"; got != want {
		t.Errorf("after another period: state = %q, want %q", got, want)
	}
	r.Report(routerTestPickID(t, r, p, "a"), Outcome{Verdict: Success}, 0)
	if got, want := routerTestStatus(t, r, "a").State, "serving"; got != want {
		t.Errorf("after a good probe: state = %q, want %q", got, want)
	}
	// Closed again: it takes the full threshold to open it.
	routerTestReport(t, r, p, "a", Outcome{Verdict: Transient})
	if got, want := routerTestStatus(t, r, "a").Circuit, "closed"; got != want {
		t.Errorf("one failure after closing: circuit = %q, want %q", got, want)
	}
}
