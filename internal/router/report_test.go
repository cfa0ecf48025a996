package router

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reportTestView is a deployment's state as Report leaves it.
type reportTestView struct {
	Until       time.Time // zero when not cooling
	Reason      string
	Consecutive int32
	Circuit     string
	Failures    int64
	LastError   string
	Latency     time.Duration
	InFlight    int64
}

func reportTestState(r *Router, d *Deployment) reportTestView {
	now := r.Now()
	v := reportTestView{
		Consecutive: d.circuit.consecutive.Load(),
		Circuit:     d.circuit.state(now),
		Failures:    d.failures.Load(),
		Latency:     d.Latency(),
		InFlight:    d.InFlight(),
	}
	if until, ok := d.coolingUntil(now); ok {
		v.Until = until
		v.Reason = d.cooldown.Load().reason
	}
	if p := d.lastErr.Load(); p != nil {
		v.LastError = *p
	}
	return v
}

func TestReportVerdicts(t *testing.T) {
	const defaultCooldown = 10 * time.Second
	t0 := routerTestEpoch
	// Before the report, a has one failure on record and a measured latency.
	before := reportTestView{Consecutive: 1, Circuit: "closed", Failures: 1, LastError: "earlier 500", Latency: 100 * time.Millisecond}
	with := func(f func(v *reportTestView)) reportTestView {
		v := before
		f(&v)
		return v
	}
	closed := func(v *reportTestView) { v.Consecutive = 0 }
	tests := []struct {
		name    string
		outcome Outcome
		latency time.Duration
		want    reportTestView
	}{
		{
			name:    "success closes and feeds the latency",
			outcome: Outcome{Verdict: Success, Reason: "200"},
			latency: 200 * time.Millisecond,
			want:    with(func(v *reportTestView) { closed(v); v.Latency = 120 * time.Millisecond }),
		},
		{
			name:    "caller error closes without a latency sample",
			outcome: Outcome{Verdict: CallerError, Reason: "upstream 400"},
			latency: time.Second,
			want:    with(closed),
		},
		{
			name:    "context too long closes without a latency sample",
			outcome: Outcome{Verdict: ContextTooLong, Reason: "upstream 400: context_length_exceeded"},
			latency: time.Second,
			want:    with(closed),
		},
		{
			name:    "rate limited cools for the outcome's cooldown",
			outcome: Outcome{Verdict: RateLimited, Cooldown: 6 * time.Second, Reason: "429 retry-after 6s"},
			want:    with(func(v *reportTestView) { v.Until, v.Reason = t0.Add(6*time.Second), "429 retry-after 6s" }),
		},
		{
			name:    "rate limited without a cooldown takes the default",
			outcome: Outcome{Verdict: RateLimited, Reason: "429"},
			want:    with(func(v *reportTestView) { v.Until, v.Reason = t0.Add(defaultCooldown), "429" }),
		},
		{
			name:    "quota exhausted cools for the outcome's cooldown",
			outcome: Outcome{Verdict: QuotaExhausted, Cooldown: QuotaCooldown, Reason: "429 insufficient_quota"},
			want:    with(func(v *reportTestView) { v.Until, v.Reason = t0.Add(QuotaCooldown), "429 insufficient_quota" }),
		},
		{
			name:    "deployment gone cools for the outcome's cooldown",
			outcome: Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: DeploymentNotFound"},
			want: with(func(v *reportTestView) {
				v.Until, v.Reason = t0.Add(MisconfiguredCooldown), "upstream 404: DeploymentNotFound"
			}),
		},
		{
			name:    "auth failed cools and counts a failure",
			outcome: Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid key"},
			want: with(func(v *reportTestView) {
				v.Until, v.Reason = t0.Add(defaultCooldown), "upstream 401: invalid key"
				v.Consecutive, v.Failures, v.LastError = 2, 2, "upstream 401: invalid key"
			}),
		},
		{
			name:    "auth failed with a cooldown",
			outcome: Outcome{Verdict: AuthFailed, Cooldown: time.Minute, Reason: "upstream 403"},
			want: with(func(v *reportTestView) {
				v.Until, v.Reason = t0.Add(time.Minute), "upstream 403"
				v.Consecutive, v.Failures, v.LastError = 2, 2, "upstream 403"
			}),
		},
		{
			name:    "transient counts a failure without cooling",
			outcome: Outcome{Verdict: Transient, Reason: "upstream 502"},
			latency: time.Second,
			want: with(func(v *reportTestView) {
				v.Consecutive, v.Failures, v.LastError = 2, 2, "upstream 502"
			}),
		},
		{
			name:    "too large changes nothing",
			outcome: Outcome{Verdict: TooLarge, Reason: "429 request too large"},
			latency: time.Second,
			want:    before,
		},
		{
			name:    "client gone changes nothing",
			outcome: Outcome{Verdict: ClientGone, Reason: "client cancelled"},
			latency: time.Second,
			want:    before,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{FailureThreshold: 3, Cooldown: defaultCooldown},
				routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 1))
			p := routerTestPool(t, r, "m")
			r.Report(routerTestPickID(t, r, p, "a"), Outcome{Verdict: Success}, 100*time.Millisecond)
			r.Report(routerTestPickID(t, r, p, "a"), Outcome{Verdict: Transient, Reason: "earlier 500"}, 0)
			a := p.Deployments()[0]
			if diff := cmp.Diff(before, reportTestState(r, a)); diff != "" {
				t.Fatalf("state before mismatch (-want +got):\n%s", diff)
			}

			pick := routerTestPickID(t, r, p, "a")
			if got, want := a.InFlight(), int64(1); got != want {
				t.Errorf("in flight after Pick = %d, want %d", got, want)
			}
			r.Report(pick, tt.outcome, tt.latency)
			got := reportTestState(r, a)
			// The EWMA is float arithmetic: allow a nanosecond of rounding.
			if d := got.Latency - tt.want.Latency; d >= -1 && d <= 1 {
				got.Latency = tt.want.Latency
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state after Report(%v) mismatch (-want +got):\n%s", tt.outcome.Verdict, diff)
			}
			if diff := cmp.Diff(reportTestView{Circuit: "closed"}, reportTestState(r, p.Deployments()[1])); diff != "" {
				t.Errorf("b changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportCooldownKeepsLaterDeadline(t *testing.T) {
	type report struct {
		after    time.Duration // clock advance before the report
		cooldown time.Duration
		reason   string
	}
	t0 := routerTestEpoch
	tests := []struct {
		name       string
		reports    []report
		wantUntil  time.Time
		wantReason string
	}{
		{
			name:       "shorter second",
			reports:    []report{{cooldown: 30 * time.Second, reason: "long"}, {cooldown: 10 * time.Second, reason: "short"}},
			wantUntil:  t0.Add(30 * time.Second),
			wantReason: "long",
		},
		{
			name:       "longer second",
			reports:    []report{{cooldown: 10 * time.Second, reason: "short"}, {cooldown: 30 * time.Second, reason: "long"}},
			wantUntil:  t0.Add(30 * time.Second),
			wantReason: "long",
		},
		{
			name:       "same deadline keeps the first reason",
			reports:    []report{{cooldown: 10 * time.Second, reason: "first"}, {cooldown: 10 * time.Second, reason: "second"}},
			wantUntil:  t0.Add(10 * time.Second),
			wantReason: "first",
		},
		{
			name: "later report, later deadline",
			reports: []report{
				{cooldown: 30 * time.Second, reason: "first"},
				{after: 25 * time.Second, cooldown: 10 * time.Second, reason: "second"},
			},
			wantUntil:  t0.Add(35 * time.Second),
			wantReason: "second",
		},
		{
			name: "default cooldown against an explicit one",
			reports: []report{
				{cooldown: time.Minute, reason: "explicit"},
				{reason: "default"},
			},
			wantUntil:  t0.Add(time.Minute),
			wantReason: "explicit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{Cooldown: 10 * time.Second}, routerTestDeployment("a", "m", 1))
			p := routerTestPool(t, r, "m")
			// Both attempts went out before either answered.
			var picks []Pick
			for range tt.reports {
				picks = append(picks, routerTestPickID(t, r, p, "a"))
			}
			for i, rep := range tt.reports {
				clk.Advance(rep.after)
				r.Report(picks[i], Outcome{Verdict: RateLimited, Cooldown: rep.cooldown, Reason: rep.reason}, 0)
			}
			s := routerTestStatus(t, r, "a")
			if s.CooldownUntil == nil {
				t.Fatalf("CooldownUntil = nil, want %v", tt.wantUntil)
			}
			if got, want := *s.CooldownUntil, tt.wantUntil; !got.Equal(want) {
				t.Errorf("CooldownUntil = %v, want %v", got, want)
			}
			if got, want := s.CooldownReason, tt.wantReason; got != want {
				t.Errorf("CooldownReason = %q, want %q", got, want)
			}
			if got, want := s.InFlight, int64(0); got != want {
				t.Errorf("InFlight = %d, want %d", got, want)
			}
		})
	}
}

// TestReportConcurrentRateLimits has many 429s answer at once: the latest
// deadline wins whatever the order.
func TestReportConcurrentRateLimits(t *testing.T) {
	const n = 32
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{}, routerTestDeployment("a", "m", 1))
	p := routerTestPool(t, r, "m")
	var picks []Pick
	for range n {
		picks = append(picks, routerTestPickID(t, r, p, "a"))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, pk := range picks {
		wg.Go(func() {
			<-start
			r.Report(pk, Outcome{Verdict: RateLimited, Cooldown: time.Duration(i+1) * time.Second, Reason: fmt.Sprintf("429 retry-after %ds", i+1)}, 0)
		})
	}
	close(start)
	wg.Wait()
	s := routerTestStatus(t, r, "a")
	if s.CooldownUntil == nil {
		t.Fatalf("CooldownUntil = nil, want a deadline")
	}
	if got, want := *s.CooldownUntil, routerTestEpoch.Add(n*time.Second); !got.Equal(want) {
		t.Errorf("CooldownUntil = %v, want %v", got, want)
	}
	if got, want := s.InFlight, int64(0); got != want {
		t.Errorf("InFlight = %d, want %d", got, want)
	}
}

func TestReportRateLimitedSkipsUntilDeadline(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{}, routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 1))
	p := routerTestPool(t, r, "m")
	routerTestReport(t, r, p, "a", Outcome{Verdict: RateLimited, Cooldown: 6 * time.Second})
	if got, want := routerTestPicks(r, p, nil, 3), []string{"b", "b", "b"}; !cmp.Equal(got, want) {
		t.Errorf("while a cools: picks = %v, want %v", got, want)
	}
	clk.Advance(6 * time.Second)
	got := routerTestPicks(r, p, nil, 4)
	counts := map[string]int{}
	for _, id := range got {
		counts[id]++
	}
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 2}, counts); diff != "" {
		t.Errorf("after the cooldown: picks %v mismatch (-want +got):\n%s", got, diff)
	}
}

func TestReportLatencyEWMA(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{}, routerTestDeployment("a", "m", 1))
	p := routerTestPool(t, r, "m")
	ms := time.Millisecond
	tests := []struct {
		sample time.Duration
		want   time.Duration
	}{
		{sample: 100 * ms, want: 100 * ms}, // the first sample is taken as is
		{sample: 200 * ms, want: 120 * ms},
		{sample: 200 * ms, want: 136 * ms},
		{sample: 36 * ms, want: 116 * ms},
	}
	for i, tt := range tests {
		r.Report(routerTestPickID(t, r, p, "a"), Outcome{Verdict: Success}, tt.sample)
		if got := p.Deployments()[0].Latency(); (got - tt.want).Abs() > time.Microsecond {
			t.Errorf("sample %d (%v): latency = %v, want %v", i, tt.sample, got, tt.want)
		}
	}
}

func TestOnCooldownCalledWhenDeadlineMoves(t *testing.T) {
	var calls []string
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{OnCooldown: func(id string, _ time.Time, o Outcome) { calls = append(calls, id+":"+o.Reason) }},
		routerTestDeployment("a", "m", 1))
	p := routerTestPool(t, r, "m")
	routerTestReport(t, r, p, "a", Outcome{Verdict: RateLimited, Cooldown: 20 * time.Second, Reason: "429 retry-after 20s"})
	// A shorter cooldown reported while the longer one runs moves nothing.
	d := p.Deployments()[0]
	d.inflight.Add(1)
	r.Report(Pick{Deployment: d}, Outcome{Verdict: RateLimited, Cooldown: 5 * time.Second, Reason: "429 retry-after 5s"}, 0)
	if want := []string{"a:429 retry-after 20s"}; !slices.Equal(calls, want) {
		t.Errorf("OnCooldown calls = %v, want %v", calls, want)
	}
}
