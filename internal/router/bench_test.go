package router

import (
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

// benchTestPool is a round-robin pool of model "m": four deployments in
// tier 1, plus four in tier 2 when tiers is set, with tier 1 cooling for
// the whole run.
func benchTestPool(tb testing.TB, tiers bool) (*Router, *Pool) {
	tb.Helper()
	clk := newRouterTestClock()
	deps := []config.Deployment{
		routerTestDeployment("a1", "m", 1),
		routerTestDeployment("a2", "m", 1),
		routerTestDeployment("a3", "m", 1),
		routerTestDeployment("a4", "m", 1),
	}
	if tiers {
		deps = append(deps,
			routerTestDeployment("b1", "m", 2),
			routerTestDeployment("b2", "m", 2),
			routerTestDeployment("b3", "m", 2),
			routerTestDeployment("b4", "m", 2),
		)
	}
	r := newRouterTest(tb, clk, Options{Strategy: "round-robin"}, deps...)
	p := routerTestPool(tb, r, "m")
	if tiers {
		for _, id := range []string{"a1", "a2", "a3", "a4"} {
			routerTestReport(tb, r, p, id, Outcome{Verdict: RateLimited, Cooldown: time.Hour, Reason: "429"})
		}
	}
	return r, p
}

var benchTestOK = Outcome{Verdict: Success}

func BenchmarkPickReport(b *testing.B) {
	r, p := benchTestPool(b, false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pick, err := p.Pick(r.Now(), nil)
			if err != nil {
				b.Error(err)
				return
			}
			r.Report(pick, benchTestOK, time.Millisecond)
		}
	})
}

func BenchmarkPickTiers(b *testing.B) {
	r, p := benchTestPool(b, true)
	b.ReportAllocs()
	for b.Loop() {
		pick, err := p.Pick(r.Now(), nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Report(pick, benchTestOK, time.Millisecond)
	}
}

// TestPickReportAllocs pins the hot path at zero allocations: every
// request goes through one Pick and one Report.
func TestPickReportAllocs(t *testing.T) {
	tests := []struct {
		name  string
		tiers bool
	}{
		{name: "one tier", tiers: false},
		{name: "first tier cooling", tiers: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, p := benchTestPool(t, tt.tiers)
			now := r.Now()
			got := testing.AllocsPerRun(100, func() {
				pick, err := p.Pick(now, nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Report(pick, benchTestOK, time.Millisecond)
			})
			if want := 0.0; got != want {
				t.Errorf("Pick+Report allocates %v times per call, want %v", got, want)
			}
		})
	}
}
