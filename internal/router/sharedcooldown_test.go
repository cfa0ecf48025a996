package router

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sharedCooldownTestCalls records OnCooldown calls.
type sharedCooldownTestCalls struct {
	mu    sync.Mutex
	calls []sharedCooldownTestCall
}

type sharedCooldownTestCall struct {
	ID      string
	Until   time.Time
	Verdict Verdict
	Reason  string
}

func (c *sharedCooldownTestCalls) onCooldown(id string, until time.Time, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, sharedCooldownTestCall{ID: id, Until: until, Verdict: o.Verdict, Reason: o.Reason})
}

func (c *sharedCooldownTestCalls) get() []sharedCooldownTestCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sharedCooldownTestCall(nil), c.calls...)
}

func TestApplyCooldown(t *testing.T) {
	t0 := routerTestEpoch
	type apply struct {
		id     string
		until  time.Time
		reason string
		want   bool
	}
	tests := []struct {
		name string
		// local is a 429 this replica saw first, with its cooldown; 0 for none.
		local      time.Duration
		applies    []apply
		wantState  string
		wantUntil  time.Time
		wantReason string
		wantPicks  []string // of three picks right after
	}{
		{
			name:       "cools the deployment",
			applies:    []apply{{id: "a", until: t0.Add(30 * time.Second), reason: "replica r2: 429 retry-after 30s", want: true}},
			wantState:  "cooling",
			wantUntil:  t0.Add(30 * time.Second),
			wantReason: "replica r2: 429 retry-after 30s",
			wantPicks:  []string{"b", "b", "b"},
		},
		{
			name:       "keeps a later local deadline",
			local:      time.Minute,
			applies:    []apply{{id: "a", until: t0.Add(30 * time.Second), reason: "replica", want: false}},
			wantState:  "cooling",
			wantUntil:  t0.Add(time.Minute),
			wantReason: "local",
			wantPicks:  []string{"b", "b", "b"},
		},
		{
			name:       "the same deadline does not move",
			local:      30 * time.Second,
			applies:    []apply{{id: "a", until: t0.Add(30 * time.Second), reason: "replica", want: false}},
			wantState:  "cooling",
			wantUntil:  t0.Add(30 * time.Second),
			wantReason: "local",
			wantPicks:  []string{"b", "b", "b"},
		},
		{
			name:       "extends a sooner local deadline",
			local:      10 * time.Second,
			applies:    []apply{{id: "a", until: t0.Add(30 * time.Second), reason: "replica", want: true}},
			wantState:  "cooling",
			wantUntil:  t0.Add(30 * time.Second),
			wantReason: "replica",
			wantPicks:  []string{"b", "b", "b"},
		},
		{
			name: "an earlier shared deadline after a later one",
			applies: []apply{
				{id: "a", until: t0.Add(40 * time.Second), reason: "first", want: true},
				{id: "a", until: t0.Add(20 * time.Second), reason: "second", want: false},
			},
			wantState:  "cooling",
			wantUntil:  t0.Add(40 * time.Second),
			wantReason: "first",
			wantPicks:  []string{"b", "b", "b"},
		},
		{
			name:      "unknown deployment",
			applies:   []apply{{id: "nope", until: t0.Add(30 * time.Second), reason: "replica", want: false}},
			wantState: "serving",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls sharedCooldownTestCalls
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{OnCooldown: calls.onCooldown},
				routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 1))
			p := routerTestPool(t, r, "m")
			wantCalls := 0
			if tt.local > 0 {
				routerTestReport(t, r, p, "a", Outcome{Verdict: RateLimited, Cooldown: tt.local, Reason: "local"})
				wantCalls = 1
			}
			for _, a := range tt.applies {
				if got := r.ApplyCooldown(a.id, a.until, a.reason); got != a.want {
					t.Errorf("ApplyCooldown(%s, %v, %q) = %v, want %v", a.id, a.until, a.reason, got, a.want)
				}
			}
			if got := len(calls.get()); got != wantCalls {
				t.Errorf("OnCooldown called %d times, want %d (a shared cooldown is never echoed)", got, wantCalls)
			}
			s := routerTestStatus(t, r, "a")
			if got, want := s.State, tt.wantState; got != want {
				t.Errorf("State = %q, want %q", got, want)
			}
			if got, want := s.CooldownReason, tt.wantReason; got != want {
				t.Errorf("CooldownReason = %q, want %q", got, want)
			}
			switch {
			case tt.wantUntil.IsZero() && s.CooldownUntil != nil:
				t.Errorf("CooldownUntil = %v, want nil", *s.CooldownUntil)
			case !tt.wantUntil.IsZero() && (s.CooldownUntil == nil || !s.CooldownUntil.Equal(tt.wantUntil)):
				t.Errorf("CooldownUntil = %v, want %v", s.CooldownUntil, tt.wantUntil)
			}
			if tt.wantPicks != nil {
				if got := routerTestPicks(r, p, nil, len(tt.wantPicks)); !cmp.Equal(got, tt.wantPicks) {
					t.Errorf("picks = %v, want %v", got, tt.wantPicks)
				}
			}
			if !tt.wantUntil.IsZero() {
				clk.ns.Store(tt.wantUntil.UnixNano())
				if got, want := routerTestStatus(t, r, "a").State, "serving"; got != want {
					t.Errorf("at the deadline: State = %q, want %q", got, want)
				}
				counts := map[string]int{}
				for _, id := range routerTestPicks(r, p, nil, 4) {
					counts[id]++
				}
				if want := map[string]int{"a": 2, "b": 2}; !cmp.Equal(counts, want) {
					t.Errorf("at the deadline: picks = %v, want %v", counts, want)
				}
			}
		})
	}
}

// TestApplyCooldownPastDeadline: a deadline already past when it arrives
// (a slow broadcast) does not cool anything.
func TestApplyCooldownPastDeadline(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{}, routerTestDeployment("a", "m", 1))
	r.ApplyCooldown("a", routerTestEpoch.Add(-time.Second), "stale")
	if got, want := routerTestStatus(t, r, "a").State, "serving"; got != want {
		t.Errorf("State = %q, want %q", got, want)
	}
	if got, want := routerTestPicks(r, routerTestPool(t, r, "m"), nil, 2), []string{"a", "a"}; !cmp.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
}

// TestReportCallsOnCooldownWithDeadline: a 429 seen here is announced with
// the deadline it set, so replicas can apply the same one.
func TestReportCallsOnCooldownWithDeadline(t *testing.T) {
	tests := []struct {
		name    string
		after   time.Duration // clock advance before the 429
		outcome Outcome
		want    []sharedCooldownTestCall
	}{
		{
			name:    "retry-after from the upstream",
			after:   5 * time.Second,
			outcome: Outcome{Verdict: RateLimited, Cooldown: 20 * time.Second, Reason: "429 retry-after 20s"},
			want:    []sharedCooldownTestCall{{ID: "a", Until: routerTestEpoch.Add(25 * time.Second), Verdict: RateLimited, Reason: "429 retry-after 20s"}},
		},
		{
			name:    "the configured cooldown",
			outcome: Outcome{Verdict: RateLimited, Reason: "429"},
			want:    []sharedCooldownTestCall{{ID: "a", Until: routerTestEpoch.Add(10 * time.Second), Verdict: RateLimited, Reason: "429"}},
		},
		{
			name:    "quota exhausted",
			outcome: Outcome{Verdict: QuotaExhausted, Cooldown: time.Hour, Reason: "insufficient_quota"},
			want:    []sharedCooldownTestCall{{ID: "a", Until: routerTestEpoch.Add(time.Hour), Verdict: QuotaExhausted, Reason: "insufficient_quota"}},
		},
		{
			name:    "a transient failure cools nothing",
			outcome: Outcome{Verdict: Transient, Reason: "502"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls sharedCooldownTestCalls
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{Cooldown: 10 * time.Second, OnCooldown: calls.onCooldown}, routerTestDeployment("a", "m", 1))
			p := routerTestPool(t, r, "m")
			clk.Advance(tt.after)
			routerTestReport(t, r, p, "a", tt.outcome)
			if diff := cmp.Diff(tt.want, calls.get()); diff != "" {
				t.Errorf("OnCooldown calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyCooldownThenReport: a local 429 after a shared cooldown is
// announced only if it moves the deadline.
func TestApplyCooldownThenReport(t *testing.T) {
	tests := []struct {
		name     string
		cooldown time.Duration
		want     []sharedCooldownTestCall
	}{
		{name: "sooner than the shared one", cooldown: 10 * time.Second},
		{
			name:     "later than the shared one",
			cooldown: time.Minute,
			want:     []sharedCooldownTestCall{{ID: "a", Until: routerTestEpoch.Add(time.Minute), Verdict: RateLimited, Reason: "local"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls sharedCooldownTestCalls
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{OnCooldown: calls.onCooldown}, routerTestDeployment("a", "m", 1))
			p := routerTestPool(t, r, "m")
			pick := routerTestPickID(t, r, p, "a") // went out before the shared cooldown arrived
			if !r.ApplyCooldown("a", routerTestEpoch.Add(30*time.Second), "shared") {
				t.Fatal("ApplyCooldown = false, want true")
			}
			r.Report(pick, Outcome{Verdict: RateLimited, Cooldown: tt.cooldown, Reason: "local"}, 0)
			if diff := cmp.Diff(tt.want, calls.get()); diff != "" {
				t.Errorf("OnCooldown calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
