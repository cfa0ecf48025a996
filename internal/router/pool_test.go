package router

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
)

// poolTestTiers is a pool of model "m" over three tiers:
// t1a, t1b (priority 1), t2a, t2b (priority 2), t3 (priority 5), listed out
// of order on purpose.
func poolTestTiers(t *testing.T, clk *routerTestClock, opts Options) (*Router, *Pool) {
	t.Helper()
	r := newRouterTest(t, clk, opts,
		routerTestDeployment("t2a", "m", 2),
		routerTestDeployment("t1a", "m", 1),
		routerTestDeployment("t3", "m", 5),
		routerTestDeployment("t1b", "m", 1),
		routerTestDeployment("t2b", "m", 2),
	)
	return r, routerTestPool(t, r, "m")
}

// poolTestByID returns the deployments of p with the given ids.
func poolTestByID(p *Pool, ids ...string) []*Deployment {
	var out []*Deployment
	for _, d := range p.Deployments() {
		if slices.Contains(ids, d.ID()) {
			out = append(out, d)
		}
	}
	return out
}

// poolTestCool puts id in a cooldown of d.
func poolTestCool(t *testing.T, r *Router, p *Pool, id string, d time.Duration) {
	t.Helper()
	routerTestReport(t, r, p, id, Outcome{Verdict: RateLimited, Cooldown: d, Reason: "429"})
}

// poolTestOpen opens id's circuit with threshold failures.
func poolTestOpen(t *testing.T, r *Router, p *Pool, id string) {
	t.Helper()
	for range r.opts.FailureThreshold {
		routerTestReport(t, r, p, id, Outcome{Verdict: Transient, Reason: "upstream 500"})
	}
	if got, want := routerTestStatus(t, r, id).Circuit, "open"; got != want {
		t.Fatalf("%s circuit = %q, want %q", id, got, want)
	}
}

func TestPoolTierOrder(t *testing.T) {
	_, p := poolTestTiers(t, newRouterTestClock(), Options{})
	if got, want := routerTestIDs(p.Deployments()), []string{"t1a", "t1b", "t2a", "t2b", "t3"}; !slices.Equal(got, want) {
		t.Errorf("Deployments() = %v, want %v", got, want)
	}
}

func TestPoolPickTiers(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r *Router, p *Pool)
		tried []string
		want  []string
	}{
		{
			name: "best tier while all available",
			want: []string{"t1a", "t1b", "t1a", "t1b"},
		},
		{
			name:  "one of the best tier cooling",
			setup: func(t *testing.T, r *Router, p *Pool) { poolTestCool(t, r, p, "t1a", time.Minute) },
			want:  []string{"t1b", "t1b", "t1b", "t1b"},
		},
		{
			name:  "one of the best tier circuit-open",
			setup: func(t *testing.T, r *Router, p *Pool) { poolTestOpen(t, r, p, "t1b") },
			want:  []string{"t1a", "t1a", "t1a", "t1a"},
		},
		{
			name:  "one of the best tier tried",
			tried: []string{"t1a"},
			want:  []string{"t1b", "t1b", "t1b", "t1b"},
		},
		{
			name: "best tier cooling spills to the next",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "t1a", time.Minute)
				poolTestCool(t, r, p, "t1b", time.Second)
			},
			want: []string{"t2a", "t2b", "t2a", "t2b"},
		},
		{
			name: "best tier circuit-open spills to the next",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestOpen(t, r, p, "t1a")
				poolTestOpen(t, r, p, "t1b")
			},
			want: []string{"t2a", "t2b", "t2a", "t2b"},
		},
		{
			name:  "best tier tried spills to the next",
			tried: []string{"t1b", "t1a"},
			want:  []string{"t2a", "t2b", "t2a", "t2b"},
		},
		{
			name: "cooling, circuit-open and tried together spill",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "t1a", time.Minute)
				poolTestOpen(t, r, p, "t2a")
			},
			tried: []string{"t1b"},
			want:  []string{"t2b", "t2b", "t2b", "t2b"},
		},
		{
			name: "two tiers out spill to the third",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "t1a", time.Minute)
				poolTestOpen(t, r, p, "t2b")
			},
			tried: []string{"t1b", "t2a"},
			want:  []string{"t3", "t3", "t3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r, p := poolTestTiers(t, clk, Options{FailureThreshold: 2})
			if tt.setup != nil {
				tt.setup(t, r, p)
			}
			got := routerTestPicks(r, p, poolTestByID(p, tt.tried...), len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("picks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPoolPickTiersComeBack(t *testing.T) {
	clk := newRouterTestClock()
	r, p := poolTestTiers(t, clk, Options{FailureThreshold: 1, CircuitOpen: 30 * time.Second})
	poolTestCool(t, r, p, "t1a", 10*time.Second)
	poolTestOpen(t, r, p, "t1b") // open until +30s
	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{advance: 0, want: []string{"t2a", "t2b"}},
		{advance: 10*time.Second - time.Nanosecond, want: []string{"t2a", "t2b"}},
		{advance: time.Nanosecond, want: []string{"t1a", "t1a"}}, // cooldown over, exactly at the deadline
		{advance: 20 * time.Second, want: []string{"t1a", "t1b", "t1a", "t1b"}},
	}
	elapsed := time.Duration(0)
	for _, s := range steps {
		clk.Advance(s.advance)
		elapsed += s.advance
		got := routerTestPicks(r, p, nil, len(s.want))
		if !slices.Equal(got, s.want) {
			t.Errorf("at +%v: picks = %v, want %v", elapsed, got, s.want)
		}
	}
}

func TestPoolPickNeverTried(t *testing.T) {
	clk := newRouterTestClock()
	r, p := poolTestTiers(t, clk, Options{})
	all := p.Deployments()
	for mask := range 1 << len(all) {
		var tried []*Deployment
		for i, d := range all {
			if mask&(1<<i) != 0 {
				tried = append(tried, d)
			}
		}
		for range 2 * len(all) {
			pick, err := p.Pick(clk.Now(), tried)
			if len(tried) == len(all) {
				want := &UnavailableError{Model: "m", AllTried: true}
				if diff := cmp.Diff(want, err); diff != "" {
					t.Fatalf("tried %v: error mismatch (-want +got):\n%s", routerTestIDs(tried), diff)
				}
				continue
			}
			if err != nil {
				t.Fatalf("tried %v: Pick: %v", routerTestIDs(tried), err)
			}
			if slices.Contains(tried, pick.Deployment) {
				t.Fatalf("tried %v: Pick = %s, a tried deployment", routerTestIDs(tried), pick.ID())
			}
			r.Report(pick, Outcome{Verdict: Success}, 0)
		}
	}
}

func TestPoolPickUnavailable(t *testing.T) {
	const open = time.Minute
	t0 := routerTestEpoch
	tests := []struct {
		name  string
		setup func(t *testing.T, r *Router, p *Pool)
		tried []string
		want  *UnavailableError
	}{
		{
			name: "all cooling: the soonest deadline",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "a", 30*time.Second)
				poolTestCool(t, r, p, "b", 10*time.Second)
				poolTestCool(t, r, p, "c", 20*time.Second)
			},
			want: &UnavailableError{Model: "m", RetryAt: t0.Add(10 * time.Second)},
		},
		{
			name: "the soonest is in the worse tier",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "a", 30*time.Second)
				poolTestCool(t, r, p, "b", 20*time.Second)
				poolTestCool(t, r, p, "c", 5*time.Second)
			},
			want: &UnavailableError{Model: "m", RetryAt: t0.Add(5 * time.Second)},
		},
		{
			name: "all circuit-open",
			setup: func(t *testing.T, r *Router, p *Pool) {
				for _, id := range []string{"a", "b", "c"} {
					poolTestOpen(t, r, p, id)
				}
			},
			want: &UnavailableError{Model: "m", RetryAt: t0.Add(open)},
		},
		{
			name: "cooling sooner than circuit-open",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestOpen(t, r, p, "a")
				poolTestCool(t, r, p, "b", 2*open)
				poolTestCool(t, r, p, "c", 45*time.Second)
			},
			want: &UnavailableError{Model: "m", RetryAt: t0.Add(45 * time.Second)},
		},
		{
			name: "circuit-open sooner than cooling",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestOpen(t, r, p, "a")
				poolTestCool(t, r, p, "b", 2*open)
				poolTestCool(t, r, p, "c", 2*open)
			},
			want: &UnavailableError{Model: "m", RetryAt: t0.Add(open)},
		},
		{
			name: "tried ones do not count for the deadline",
			setup: func(t *testing.T, r *Router, p *Pool) {
				poolTestCool(t, r, p, "a", time.Second)
				poolTestCool(t, r, p, "b", 20*time.Second)
			},
			tried: []string{"a", "c"},
			want:  &UnavailableError{Model: "m", RetryAt: t0.Add(20 * time.Second)},
		},
		{
			name:  "all tried",
			tried: []string{"a", "b", "c"},
			want:  &UnavailableError{Model: "m", AllTried: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{FailureThreshold: 1, CircuitOpen: open},
				routerTestDeployment("a", "m", 1),
				routerTestDeployment("b", "m", 1),
				routerTestDeployment("c", "m", 2),
			)
			p := routerTestPool(t, r, "m")
			if tt.setup != nil {
				tt.setup(t, r, p)
			}
			pick, err := p.Pick(clk.Now(), poolTestByID(p, tt.tried...))
			if err == nil {
				t.Fatalf("Pick = %s, want an error", pick.ID())
			}
			if pick.Deployment != nil {
				t.Errorf("Pick = %s with an error, want the zero Pick", pick.ID())
			}
			var ue *UnavailableError
			if !errors.As(err, &ue) {
				t.Fatalf("Pick error = %T %v, want *UnavailableError", err, err)
			}
			if diff := cmp.Diff(tt.want, ue); diff != "" {
				t.Errorf("Pick error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPoolRetryAt(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{FailureThreshold: 1, CircuitOpen: time.Minute},
		routerTestDeployment("a", "m", 1),
		routerTestDeployment("b", "m", 2),
	)
	p := routerTestPool(t, r, "m")
	t0 := clk.Now()
	check := func(what string, want time.Time) {
		t.Helper()
		if got := p.RetryAt(clk.Now()); !got.Equal(want) {
			t.Errorf("%s: RetryAt = %v, want %v", what, got, want)
		}
	}
	check("all available", time.Time{})
	poolTestCool(t, r, p, "a", 20*time.Second)
	check("best tier cooling, next available", time.Time{})
	poolTestOpen(t, r, p, "b")
	check("cooling and circuit-open", t0.Add(20*time.Second))
	clk.Advance(20 * time.Second)
	check("cooldown over", time.Time{})
	poolTestCool(t, r, p, "a", 5*time.Minute)
	check("circuit-open sooner", t0.Add(time.Minute))
}

func TestPoolInactiveExcluded(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{},
		routerTestInactive(routerTestDeployment("off1", "m", 1)),
		routerTestDeployment("on", "m", 2),
		routerTestInactive(routerTestDeployment("off2", "m", 2)),
	)
	p := routerTestPool(t, r, "m")
	if got, want := routerTestIDs(p.Deployments()), []string{"on"}; !slices.Equal(got, want) {
		t.Errorf("Deployments() = %v, want %v", got, want)
	}
	if got, want := routerTestPicks(r, p, nil, 4), []string{"on", "on", "on", "on"}; !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
	// Switching it back on through Update puts it in its tier.
	if err := r.Update([]config.Deployment{
		routerTestDeployment("off1", "m", 1),
		routerTestDeployment("on", "m", 2),
		routerTestInactive(routerTestDeployment("off2", "m", 2)),
	}); err != nil {
		t.Fatal(err)
	}
	p = routerTestPool(t, r, "m")
	if got, want := routerTestPicks(r, p, nil, 2), []string{"off1", "off1"}; !slices.Equal(got, want) {
		t.Errorf("picks after activating off1 = %v, want %v", got, want)
	}
}

// TestPoolPickManyCandidates goes past the stack buffer of candidates.
func TestPoolPickManyCandidates(t *testing.T) {
	clk := newRouterTestClock()
	var deps []config.Deployment
	var want []string
	for i := range maxStackCandidates + 4 {
		id := string(rune('A'+i/26)) + string(rune('a'+i%26))
		deps = append(deps, routerTestDeployment(id, "m", 1))
		want = append(want, id)
	}
	r := newRouterTest(t, clk, Options{}, deps...)
	p := routerTestPool(t, r, "m")
	got := routerTestPicks(r, p, nil, len(want))
	if !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
}

// TestPoolRetryAtCoolingAndOpen covers a deployment that is cooling AND
// circuit-open (an upstream 401 that also reached the failure threshold):
// it comes back when BOTH are over, so RetryAt is the later of the two.
func TestPoolRetryAtCoolingAndOpen(t *testing.T) {
	tests := []struct {
		name     string
		cooldown time.Duration // the AuthFailed cooldown
		open     time.Duration // the circuit's open period
		want     time.Duration
	}{
		{name: "circuit opens for longer", cooldown: 10 * time.Second, open: time.Minute, want: time.Minute},
		{name: "cooldown is longer", cooldown: 5 * time.Minute, open: time.Minute, want: 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{FailureThreshold: 1, CircuitOpen: tt.open}, routerTestDeployment("a", "m", 1))
			p := routerTestPool(t, r, "m")
			routerTestReport(t, r, p, "a", Outcome{Verdict: AuthFailed, Cooldown: tt.cooldown, Reason: "upstream 401"})
			want := routerTestEpoch.Add(tt.want)

			got := p.RetryAt(clk.Now())
			if !got.Equal(want) {
				t.Errorf("RetryAt = %v, want %v (the later of cooldown and open circuit)", got, want)
			}
			// At RetryAt the deployment is back (as a half-open probe).
			if ok, _ := p.Deployments()[0].available(got); !ok {
				t.Errorf("RetryAt = %v, but a is still unavailable then", got)
			}
			_, err := p.Pick(clk.Now(), nil)
			if diff := cmp.Diff(&UnavailableError{Model: "m", RetryAt: want}, err); diff != "" {
				t.Errorf("Pick error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
