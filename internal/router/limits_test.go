package router

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
)

// limitsTestStart is 15s into a minute window, so a window's end is 45s
// away and never confused with "now plus a minute".
var limitsTestStart = routerTestEpoch.Add(15 * time.Second)

// limitsTestWindowEnd is the end of the minute window limitsTestStart is in.
var limitsTestWindowEnd = routerTestEpoch.Add(time.Minute)

// limitsTestDeployment is a chat deployment of model "m" with rpm and tpm
// limits (0: none).
func limitsTestDeployment(id string, priority, rpm, tpm int) config.Deployment {
	d := routerTestDeployment(id, "m", priority)
	d.RPM, d.TPM = rpm, tpm
	return d
}

// newLimitsTest builds a round-robin router counting limits on a memory
// limiter that reads clk, with the clock at limitsTestStart.
func newLimitsTest(t testing.TB, clk *routerTestClock, deps ...config.Deployment) (*Router, *Pool, *limits.Memory) {
	t.Helper()
	clk.ns.Store(limitsTestStart.UnixNano())
	lim := limits.NewMemory(clk.Now)
	r := newRouterTest(t, clk, Options{Strategy: "round-robin", Limiter: lim}, deps...)
	return r, routerTestPool(t, r, "m"), lim
}

// limitsTestCounts picks n times with demand, reporting Success each time,
// and counts the picks per deployment ("!" for an error).
func limitsTestCounts(r *Router, p *Pool, n int, demand int64) map[string]int {
	got := map[string]int{}
	for range n {
		pick, err := p.PickFor(context.Background(), r.Now(), nil, demand)
		if err != nil {
			got["!"]++
			continue
		}
		got[pick.ID()]++
		r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
	}
	return got
}

// limitsTestUnavailable picks once with demand and returns the error,
// failing the test when something was picked.
func limitsTestUnavailable(t *testing.T, r *Router, p *Pool, demand int64) *UnavailableError {
	t.Helper()
	pick, err := p.PickFor(context.Background(), r.Now(), nil, demand)
	if err == nil {
		r.Report(pick, Outcome{Verdict: Success}, 0)
		t.Fatalf("PickFor(%d) = %s, want *UnavailableError", demand, pick.ID())
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("PickFor(%d) error = %T %v, want *UnavailableError", demand, err, err)
	}
	return ue
}

func TestLimitsRPMSpillsOver(t *testing.T) {
	tests := []struct {
		name string
		deps []config.Deployment
		// phases are successive runs of picks and who answers them.
		phases []map[string]int
		// wantUnavailable: one more pick finds nothing until the window ends.
		wantUnavailable bool
		wantFull        []string
	}{
		{
			name:            "one tier admits exactly rpm each",
			deps:            []config.Deployment{limitsTestDeployment("a", 1, 3, 0), limitsTestDeployment("b", 1, 2, 0)},
			phases:          []map[string]int{{"a": 3, "b": 2}},
			wantUnavailable: true,
			wantFull:        []string{"a", "b"},
		},
		{
			name:     "to the other deployment of the tier",
			deps:     []config.Deployment{limitsTestDeployment("a", 1, 1, 0), limitsTestDeployment("b", 1, 0, 0)},
			phases:   []map[string]int{{"a": 1, "b": 1}, {"b": 6}},
			wantFull: []string{"a"},
		},
		{
			name: "to the next priority tier",
			deps: []config.Deployment{
				limitsTestDeployment("a", 1, 2, 0),
				limitsTestDeployment("b", 1, 1, 0),
				limitsTestDeployment("c", 2, 2, 0),
			},
			phases:          []map[string]int{{"a": 2, "b": 1}, {"c": 2}},
			wantUnavailable: true,
			wantFull:        []string{"a", "b", "c"},
		},
		{
			name:     "to an unlimited tier",
			deps:     []config.Deployment{limitsTestDeployment("a", 1, 1, 0), limitsTestDeployment("b", 2, 0, 0)},
			phases:   []map[string]int{{"a": 1}, {"b": 10}},
			wantFull: []string{"a"},
		},
		{
			name:            "tpm alone counts a token per pick",
			deps:            []config.Deployment{limitsTestDeployment("a", 1, 0, 3)},
			phases:          []map[string]int{{"a": 3}},
			wantUnavailable: true,
			wantFull:        []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p, _ := newLimitsTest(t, clk, tt.deps...)
			for i, want := range tt.phases {
				n := 0
				for _, c := range want {
					n += c
				}
				if got := limitsTestCounts(r, p, n, 0); !cmp.Equal(got, want) {
					t.Fatalf("phase %d: picks = %v, want %v", i, got, want)
				}
			}
			if tt.wantUnavailable {
				got := limitsTestUnavailable(t, r, p, 0)
				want := &UnavailableError{Model: "m", RetryAt: limitsTestWindowEnd}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("PickFor error mismatch (-want +got):\n%s", diff)
				}
				if got, want := p.RetryAt(r.Now()), limitsTestWindowEnd; !got.Equal(want) {
					t.Errorf("RetryAt = %v, want %v", got, want)
				}
			}
			for _, d := range tt.deps {
				s := routerTestStatus(t, r, d.ID)
				full := false
				for _, id := range tt.wantFull {
					full = full || id == d.ID
				}
				want := "serving"
				if full {
					want = "full"
				}
				if got := s.State; got != want {
					t.Errorf("Status(%s).State = %q, want %q", d.ID, got, want)
				}
				switch {
				case full && s.FullUntil == nil:
					t.Errorf("Status(%s).FullUntil = nil, want %v", d.ID, limitsTestWindowEnd)
				case full && !s.FullUntil.Equal(limitsTestWindowEnd):
					t.Errorf("Status(%s).FullUntil = %v, want %v", d.ID, *s.FullUntil, limitsTestWindowEnd)
				case !full && s.FullUntil != nil:
					t.Errorf("Status(%s).FullUntil = %v, want nil", d.ID, *s.FullUntil)
				}
			}

			// One nanosecond before the window ends nothing has changed.
			clk.ns.Store(limitsTestWindowEnd.UnixNano() - 1)
			if tt.wantUnavailable {
				limitsTestUnavailable(t, r, p, 0)
			}
			// A new window: the first phase repeats.
			clk.ns.Store(limitsTestWindowEnd.UnixNano())
			for _, d := range tt.deps {
				if got, want := routerTestStatus(t, r, d.ID).State, "serving"; got != want {
					t.Errorf("next window: Status(%s).State = %q, want %q", d.ID, got, want)
				}
			}
			want := tt.phases[0]
			n := 0
			for _, c := range want {
				n += c
			}
			if got := limitsTestCounts(r, p, n, 0); !cmp.Equal(got, want) {
				t.Errorf("next window: picks = %v, want %v", got, want)
			}
		})
	}
}

// TestLimitsFullAndCoolingRetryAt: the error names the soonest comeback,
// whether that is a cooldown or a full window.
func TestLimitsFullAndCoolingRetryAt(t *testing.T) {
	tests := []struct {
		name     string
		cooldown time.Duration
		want     time.Time
	}{
		{name: "cooldown ends first", cooldown: 10 * time.Second, want: limitsTestStart.Add(10 * time.Second)},
		{name: "window ends first", cooldown: time.Hour, want: limitsTestWindowEnd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p, _ := newLimitsTest(t, clk, limitsTestDeployment("a", 1, 1, 0), limitsTestDeployment("b", 2, 0, 0))
			routerTestReport(t, r, p, "b", Outcome{Verdict: RateLimited, Cooldown: tt.cooldown, Reason: "429"})
			if got, want := limitsTestCounts(r, p, 1, 0), map[string]int{"a": 1}; !cmp.Equal(got, want) {
				t.Fatalf("picks = %v, want %v", got, want)
			}
			if got := limitsTestUnavailable(t, r, p, 0).RetryAt; !got.Equal(tt.want) {
				t.Errorf("RetryAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimitsTPM(t *testing.T) {
	type step struct {
		demand int64
		want   string // the deployment picked; "" for *UnavailableError
		// wantTooLarge and wantRetryAt describe the error when want is "".
		wantTooLarge bool
		wantRetryAt  time.Time
	}
	tests := []struct {
		name  string
		deps  []config.Deployment
		steps []step
	}{
		{
			name: "demand counts until the tpm is used up",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 100), limitsTestDeployment("b", 2, 0, 1000)},
			steps: []step{
				{demand: 60, want: "a"},
				{demand: 40, want: "a"},
				{demand: 1, want: "b"},
				{demand: 999, want: "b"},
				{demand: 1, wantRetryAt: limitsTestWindowEnd},
			},
		},
		{
			name: "a demand above the whole tpm skips the deployment without filling it",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 100), limitsTestDeployment("b", 2, 0, 1000)},
			steps: []step{
				{demand: 150, want: "b"},
				{demand: 100, want: "a"},
			},
		},
		{
			name: "too large for every deployment",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 100), limitsTestDeployment("b", 1, 0, 200)},
			steps: []step{
				{demand: 201, wantTooLarge: true},
				{demand: 150, want: "b"},
			},
		},
		{
			name: "too large for one, the other is full: not TooLarge, retry at the window end",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 100), limitsTestDeployment("b", 2, 0, 200)},
			steps: []step{
				{demand: 200, want: "b"},
				{demand: 150, wantRetryAt: limitsTestWindowEnd},
			},
		},
		{
			name: "demand 0 counts one token",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 2)},
			steps: []step{
				{demand: 0, want: "a"},
				{demand: 0, want: "a"},
				{demand: 0, wantRetryAt: limitsTestWindowEnd},
			},
		},
		{
			// Were the rpm kept for the refused request, a would be full at
			// the third step.
			name: "the rpm is given back when the tpm refuses",
			deps: []config.Deployment{limitsTestDeployment("a", 1, 2, 100), limitsTestDeployment("b", 2, 0, 0)},
			steps: []step{
				{demand: 150, want: "b"},
				{demand: 50, want: "a"},
				{demand: 50, want: "a"},
				{demand: 1, want: "b"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p, _ := newLimitsTest(t, clk, tt.deps...)
			for i, s := range tt.steps {
				if s.want == "" {
					got := limitsTestUnavailable(t, r, p, s.demand)
					want := &UnavailableError{Model: "m", RetryAt: s.wantRetryAt, TooLarge: s.wantTooLarge}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("step %d: PickFor(%d) error mismatch (-want +got):\n%s", i, s.demand, diff)
					}
					continue
				}
				pick, err := p.PickFor(context.Background(), r.Now(), nil, s.demand)
				if err != nil {
					t.Fatalf("step %d: PickFor(%d): %v, want %s", i, s.demand, err, s.want)
				}
				if got, want := pick.ID(), s.want; got != want {
					t.Errorf("step %d: PickFor(%d) = %s, want %s", i, s.demand, got, want)
				}
				r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
			}
		})
	}
}

// TestLimitsFailedAttemptGivesDemandBack: an attempt the upstream did not
// process gives its tokens back; one it answered keeps them. A second
// router on the same limiter (another replica) sees the count, so the
// first's cooldowns and full marks do not hide it.
func TestLimitsFailedAttemptGivesDemandBack(t *testing.T) {
	tests := []struct {
		verdict    Verdict
		wantRefund bool
	}{
		{Success, false},
		{CallerError, false},
		{ContextTooLong, false},
		{ClientGone, false},
		{RateLimited, true},
		{TooLarge, true},
		{QuotaExhausted, true},
		{AuthFailed, true},
		{DeploymentGone, true},
		{Transient, true},
	}
	for _, tt := range tests {
		t.Run(tt.verdict.String(), func(t *testing.T) {
			clk := newRouterTestClock()
			dep := limitsTestDeployment("a", 1, 0, 100)
			r1, p1, lim := newLimitsTest(t, clk, dep)
			r2 := newRouterTest(t, clk, Options{Limiter: lim}, dep)
			p2 := routerTestPool(t, r2, "m")

			pick, err := p1.PickFor(context.Background(), r1.Now(), nil, 60)
			if err != nil {
				t.Fatalf("PickFor(60): %v", err)
			}
			r1.Report(pick, Outcome{Verdict: tt.verdict, Reason: tt.verdict.String()}, time.Millisecond)

			pick, err = p2.PickFor(context.Background(), r2.Now(), nil, 60)
			if got, want := err == nil, tt.wantRefund; got != want {
				t.Errorf("after %v: the next 60 tokens fit = %v (err %v), want %v", tt.verdict, got, err, want)
			}
			if err == nil {
				r2.Report(pick, Outcome{Verdict: Success}, 0)
			}
		})
	}
}

func TestLimitsSettleTokens(t *testing.T) {
	tests := []struct {
		name    string
		used    int64 // by the first request, which took 60
		next    int64
		wantFit bool
	}{
		{name: "fewer used: more fits", used: 10, next: 90, wantFit: true},
		{name: "fewer used: not more than the rest", used: 10, next: 91, wantFit: false},
		{name: "none used", used: 0, next: 100, wantFit: true},
		{name: "as estimated", used: 60, next: 40, wantFit: true},
		{name: "as estimated: not more than the rest", used: 60, next: 41, wantFit: false},
		{name: "more used than estimated", used: 95, next: 6, wantFit: false},
		{name: "more used than estimated: the rest fits", used: 95, next: 5, wantFit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p, _ := newLimitsTest(t, clk, limitsTestDeployment("a", 1, 0, 100))
			pick, err := p.PickFor(context.Background(), r.Now(), nil, 60)
			if err != nil {
				t.Fatalf("PickFor(60): %v", err)
			}
			r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
			r.SettleTokens(pick, tt.used)
			pick, err = p.PickFor(context.Background(), r.Now(), nil, tt.next)
			if got, want := err == nil, tt.wantFit; got != want {
				t.Errorf("after settling %d of 60: PickFor(%d) fits = %v (err %v), want %v", tt.used, tt.next, got, err, want)
			}
			if err == nil {
				r.Report(pick, Outcome{Verdict: Success}, 0)
			}
		})
	}
}

// TestLimitsCorrectionsStayInTheirMinute: a tpm correction that arrives
// after its pick's minute is over is dropped: the new window never counted
// the demand, so giving it back there would let that window overrun.
func TestLimitsCorrectionsStayInTheirMinute(t *testing.T) {
	tests := []struct {
		name    string
		correct func(r *Router, first Pick, pickedAt time.Time)
	}{
		{
			name: "SettleTokens",
			correct: func(r *Router, first Pick, pickedAt time.Time) {
				r.Report(first, Outcome{Verdict: Success}, time.Millisecond)
				r.SettleTokens(first, 10)
			},
		},
		{
			name: "Report of a failed attempt",
			correct: func(r *Router, first Pick, _ time.Time) {
				r.Report(first, Outcome{Verdict: Transient, Reason: "timeout"}, 20*time.Second)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p, _ := newLimitsTest(t, clk, limitsTestDeployment("a", 1, 0, 100))
			clk.Advance(35 * time.Second) // 10s before the window ends
			pickedAt := r.Now()
			first, err := p.PickFor(context.Background(), pickedAt, nil, 60)
			if err != nil {
				t.Fatalf("first PickFor(60): %v", err)
			}
			clk.Advance(20 * time.Second) // the answer comes in the next window
			second, err := p.PickFor(context.Background(), r.Now(), nil, 100)
			if err != nil {
				t.Fatalf("PickFor(100) in the new window: %v", err)
			}
			r.Report(second, Outcome{Verdict: Success}, time.Millisecond)
			tt.correct(r, first, pickedAt)
			if pick, err := p.PickFor(context.Background(), r.Now(), nil, 50); err == nil {
				t.Errorf("PickFor(50) = %s after the window took its whole tpm, want *UnavailableError", pick.ID())
			}
		})
	}
}

func TestLimitsCountsTokens(t *testing.T) {
	tests := []struct {
		name    string
		limiter bool
		deps    []config.Deployment
		want    bool
	}{
		{name: "tpm", limiter: true, deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 100)}, want: true},
		{name: "tpm in a worse tier", limiter: true, deps: []config.Deployment{limitsTestDeployment("a", 1, 5, 0), limitsTestDeployment("b", 2, 0, 100)}, want: true},
		{name: "rpm only", limiter: true, deps: []config.Deployment{limitsTestDeployment("a", 1, 5, 0)}, want: false},
		{name: "no limits", limiter: true, deps: []config.Deployment{limitsTestDeployment("a", 1, 0, 0)}, want: false},
		{name: "tpm without a limiter", limiter: false, deps: []config.Deployment{limitsTestDeployment("a", 1, 5, 100)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			var opts Options
			if tt.limiter {
				opts.Limiter = limits.NewMemory(clk.Now)
			}
			r := newRouterTest(t, clk, opts, tt.deps...)
			if got := routerTestPool(t, r, "m").CountsTokens(); got != tt.want {
				t.Errorf("CountsTokens() = %v, want %v", got, tt.want)
			}
		})
	}
}

// limitsTestCounting is a Limiter that counts the calls it gets.
type limitsTestCounting struct {
	limits.Limiter
	takes, adjusts atomic.Int64
}

func (c *limitsTestCounting) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (limits.Decision, error) {
	c.takes.Add(1)
	return c.Limiter.Take(ctx, key, limit, window, cost)
}

func (c *limitsTestCounting) Adjust(ctx context.Context, key string, window time.Duration, delta int64) error {
	c.adjusts.Add(1)
	return c.Limiter.Adjust(ctx, key, window, delta)
}

// TestLimitsUnlimitedNeverCounted: deployments without rpm or tpm never
// reach the limiter, whatever happens to their attempts.
func TestLimitsUnlimitedNeverCounted(t *testing.T) {
	clk := newRouterTestClock()
	lim := &limitsTestCounting{Limiter: limits.NewMemory(clk.Now)}
	r := newRouterTest(t, clk, Options{Limiter: lim}, limitsTestDeployment("a", 1, 0, 0), limitsTestDeployment("b", 2, 0, 0))
	p := routerTestPool(t, r, "m")
	verdicts := []Verdict{Success, Transient, RateLimited, TooLarge, CallerError}
	for i := range 50 {
		pick, err := p.PickFor(context.Background(), r.Now(), nil, 1000)
		if err != nil {
			t.Fatalf("pick %d: %v", i, err)
		}
		r.Report(pick, Outcome{Verdict: verdicts[i%len(verdicts)], Cooldown: time.Millisecond}, time.Millisecond)
		r.SettleTokens(pick, 10)
		clk.Advance(time.Second)
	}
	r.SettleTokens(Pick{}, 10)
	if got, want := lim.takes.Load(), int64(0); got != want {
		t.Errorf("Take calls = %d, want %d", got, want)
	}
	if got, want := lim.adjusts.Load(), int64(0); got != want {
		t.Errorf("Adjust calls = %d, want %d", got, want)
	}
}

// TestLimitsNilLimiter: without a limiter, configured rpm and tpm are left
// to the upstream's own 429s.
func TestLimitsNilLimiter(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{}, limitsTestDeployment("a", 1, 1, 10))
	p := routerTestPool(t, r, "m")
	if got, want := limitsTestCounts(r, p, 20, 50), map[string]int{"a": 20}; !cmp.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
	pick, err := p.PickFor(context.Background(), r.Now(), nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	r.SettleTokens(pick, 10) // nothing to correct, must not panic
	if got, want := routerTestStatus(t, r, "a").State, "serving"; got != want {
		t.Errorf("State = %q, want %q", got, want)
	}
}

// BenchmarkPickForLimited is the hot path of a request to a pool with
// rpm and tpm limits: pick, report, settle the tokens.
func BenchmarkPickForLimited(b *testing.B) {
	clk := newRouterTestClock()
	const huge = 1 << 50 // never reached: the benchmark measures counting, not refusing
	r, p, _ := newLimitsTest(b, clk,
		limitsTestDeployment("a1", 1, huge, huge),
		limitsTestDeployment("a2", 1, huge, huge),
		limitsTestDeployment("a3", 1, huge, huge),
		limitsTestDeployment("a4", 1, huge, huge),
	)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		now := r.Now()
		pick, err := p.PickFor(ctx, now, nil, 500)
		if err != nil {
			b.Fatal(err)
		}
		r.Report(pick, benchTestOK, time.Millisecond)
		r.SettleTokens(pick, 300)
	}
}

// TestTPMPartlyFull: a request that does not fit the tokens left skips
// the deployment for itself only: a smaller one that fits is still sent
// there, and the first gets the window's end as its RetryAt. Only a window
// with nothing left marks the deployment full.
func TestTPMPartlyFull(t *testing.T) {
	clk := newRouterTestClock()
	r, p, _ := newLimitsTest(t, clk, limitsTestDeployment("a", 1, 0, 100))
	ctx := context.Background()
	first, err := p.PickFor(ctx, r.Now(), nil, 70)
	if err != nil {
		t.Fatalf("PickFor(70): %v", err)
	}
	r.Report(first, Outcome{Verdict: Success}, time.Millisecond)

	_, err = p.PickFor(ctx, r.Now(), nil, 50)
	var u *UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("PickFor(50) with 30 left: %v, want *UnavailableError", err)
	}
	if want := limitsTestStart.Truncate(time.Minute).Add(time.Minute); !u.RetryAt.Equal(want) {
		t.Errorf("RetryAt = %v, want the window's end %v", u.RetryAt, want)
	}
	if st := r.Status()[0].State; st != "serving" {
		t.Errorf("state after a partial refusal = %q, want serving", st)
	}
	small, err := p.PickFor(ctx, r.Now(), nil, 30)
	if err != nil {
		t.Fatalf("PickFor(30) with 30 left: %v, want the deployment", err)
	}
	r.Report(small, Outcome{Verdict: Success}, time.Millisecond)
	if _, err := p.PickFor(ctx, r.Now(), nil, 1); err == nil {
		t.Fatal("PickFor(1) with nothing left succeeded")
	}
	if st := r.Status()[0].State; st != "full" {
		t.Errorf("state with nothing left = %q, want full", st)
	}
}
