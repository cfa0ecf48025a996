package router

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
)

// selectorTestCands returns bare deployments d0, d1... with the given
// weights, for calling selectors directly.
func selectorTestCands(weights ...int) []*Deployment {
	var out []*Deployment
	for i, w := range weights {
		c := routerTestDeployment(fmt.Sprintf("d%d", i), "m", 1)
		c.Weight = w
		out = append(out, &Deployment{Config: c, state: &state{}})
	}
	return out
}

// selectorTestShares draws n times and returns each candidate's share.
func selectorTestShares(s Selector, cands []*Deployment, n int) map[string]float64 {
	counts := map[string]int{}
	for range n {
		counts[s.Select(cands).ID()]++
	}
	shares := map[string]float64{}
	for id, c := range counts {
		shares[id] = float64(c) / float64(n)
	}
	return shares
}

func TestNewSelector(t *testing.T) {
	tests := []struct {
		strategy string
		want     string
		wantErr  bool
	}{
		{strategy: "", want: "*router.RoundRobin"},
		{strategy: "round-robin", want: "*router.RoundRobin"},
		{strategy: "weighted", want: "router.Weighted"},
		{strategy: "least-inflight", want: "*router.LeastInFlight"},
		{strategy: "lowest-latency", want: "*router.LowestLatency"},
		{strategy: "random", want: "router.Random"},
		{strategy: "Round-Robin", wantErr: true},
		{strategy: "least-busy", wantErr: true},
		{strategy: "simple-shuffle", wantErr: true},
	}
	for _, tt := range tests {
		s, err := NewSelector(tt.strategy)
		if tt.wantErr {
			if err == nil {
				t.Errorf("NewSelector(%q) = %T, nil; want an error", tt.strategy, s)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSelector(%q): %v", tt.strategy, err)
			continue
		}
		if got := fmt.Sprintf("%T", s); got != tt.want {
			t.Errorf("NewSelector(%q) = %s, want %s", tt.strategy, got, tt.want)
		}
	}
	// Every tier gets its own selector: two round robins do not share turns.
	a, _ := NewSelector("round-robin")
	b, _ := NewSelector("round-robin")
	if a == b {
		t.Errorf("NewSelector returned the same round robin twice")
	}
}

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		draws int
		want  []string
	}{
		{name: "one", n: 1, draws: 3, want: []string{"d0", "d0", "d0"}},
		{name: "two", n: 2, draws: 5, want: []string{"d0", "d1", "d0", "d1", "d0"}},
		{name: "three", n: 3, draws: 9, want: []string{"d0", "d1", "d2", "d0", "d1", "d2", "d0", "d1", "d2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &RoundRobin{}
			cands := selectorTestCands(make([]int, tt.n)...)
			var got []string
			for range tt.draws {
				got = append(got, s.Select(cands).ID())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selections = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRoundRobinThroughPool checks that the pool's default selector cycles
// exactly over the candidates that are left.
func TestRoundRobinThroughPool(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{},
		routerTestDeployment("a", "m", 1),
		routerTestDeployment("b", "m", 1),
		routerTestDeployment("c", "m", 1),
	)
	p := routerTestPool(t, r, "m")
	got := routerTestPicks(r, p, nil, 6)
	counts := map[string]int{}
	for _, id := range got {
		counts[id]++
	}
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 2, "c": 2}, counts); diff != "" {
		t.Errorf("picks %v: counts mismatch (-want +got):\n%s", got, diff)
	}
	for i := 3; i < len(got); i++ {
		if got[i] != got[i-3] {
			t.Errorf("picks = %v, not a cycle of 3", got)
			break
		}
	}
}

func TestWeighted(t *testing.T) {
	const draws = 4000
	const tolerance = 0.05
	tests := []struct {
		name    string
		weights []int
		want    []float64
	}{
		{name: "1:3", weights: []int{1, 3}, want: []float64{0.25, 0.75}},
		{name: "2:2:4", weights: []int{2, 2, 4}, want: []float64{0.25, 0.25, 0.5}},
		{name: "zero weight counts as 1", weights: []int{0, 1}, want: []float64{0.5, 0.5}},
		{name: "negative weight counts as 1", weights: []int{-3, 3}, want: []float64{0.25, 0.75}},
		{name: "single", weights: []int{7}, want: []float64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands := selectorTestCands(tt.weights...)
			shares := selectorTestShares(Weighted{}, cands, draws)
			for i, d := range cands {
				if got, want := shares[d.ID()], tt.want[i]; math.Abs(got-want) > tolerance {
					t.Errorf("%s (weight %d) share = %.3f, want %.2f ± %.2f", d.ID(), tt.weights[i], got, want, tolerance)
				}
			}
		})
	}
}

func TestRandom(t *testing.T) {
	const draws = 3000
	const tolerance = 0.08
	cands := selectorTestCands(1, 1, 1)
	shares := selectorTestShares(Random{}, cands, draws)
	for _, d := range cands {
		if got, want := shares[d.ID()], 1.0/3; math.Abs(got-want) > tolerance {
			t.Errorf("%s share = %.3f, want %.2f ± %.2f", d.ID(), got, want, tolerance)
		}
	}
	if got, want := (Random{}).Select(cands[:1]), cands[0]; got != want {
		t.Errorf("Select(one) = %s, want %s", got.ID(), want.ID())
	}
}

func TestLeastInFlightSelect(t *testing.T) {
	tests := []struct {
		name     string
		inflight []int64
		want     string
	}{
		{name: "middle", inflight: []int64{3, 1, 2}, want: "d1"},
		{name: "last", inflight: []int64{3, 2, 0}, want: "d2"},
		{name: "first", inflight: []int64{0, 5, 5}, want: "d0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &LeastInFlight{}
			cands := selectorTestCands(make([]int, len(tt.inflight))...)
			for i, n := range tt.inflight {
				cands[i].inflight.Store(n)
			}
			// Whatever the turn, the least loaded wins.
			for turn := range len(cands) {
				if got := s.Select(cands).ID(); got != tt.want {
					t.Errorf("turn %d: Select = %s, want %s", turn, got, tt.want)
				}
			}
		})
	}
	t.Run("ties go round robin", func(t *testing.T) {
		s := &LeastInFlight{}
		cands := selectorTestCands(1, 1, 1, 1)
		cands[3].inflight.Store(1)
		var got []string
		for range 6 {
			got = append(got, s.Select(cands).ID())
		}
		if want := []string{"d0", "d1", "d2", "d0", "d0", "d1"}; !slices.Equal(got, want) {
			t.Errorf("selections = %v, want %v", got, want)
		}
	})
}

func TestLeastInFlightThroughPool(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{Strategy: "least-inflight"},
		routerTestDeployment("a", "m", 1),
		routerTestDeployment("b", "m", 1),
		routerTestDeployment("c", "m", 1),
	)
	p := routerTestPool(t, r, "m")
	held := map[string][]Pick{}
	pick := func() string {
		t.Helper()
		pk, err := p.Pick(clk.Now(), nil)
		if err != nil {
			t.Fatalf("Pick: %v", err)
		}
		held[pk.ID()] = append(held[pk.ID()], pk)
		return pk.ID()
	}
	release := func(id string) {
		t.Helper()
		pk := held[id][0]
		held[id] = held[id][1:]
		r.Report(pk, Outcome{Verdict: Success}, time.Millisecond)
	}
	inflight := func() map[string]int64 {
		out := map[string]int64{}
		for _, d := range p.Deployments() {
			out[d.ID()] = d.InFlight()
		}
		return out
	}

	// Three picks held: one each.
	first := []string{pick(), pick(), pick()}
	if got := slices.Sorted(slices.Values(first)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("first picks = %v, want one of each", first)
	}
	if diff := cmp.Diff(map[string]int64{"a": 1, "b": 1, "c": 1}, inflight()); diff != "" {
		t.Errorf("in flight mismatch (-want +got):\n%s", diff)
	}
	release("b")
	if got, want := pick(), "b"; got != want {
		t.Errorf("after releasing b: Pick = %s, want %s", got, want)
	}
	release("a")
	release("c")
	// b is busy, a and c idle: one each.
	if got := []string{pick(), pick()}; !slices.Equal(slices.Sorted(slices.Values(got)), []string{"a", "c"}) {
		t.Errorf("with b busy: picks = %v, want a and c", got)
	}
	if diff := cmp.Diff(map[string]int64{"a": 1, "b": 1, "c": 1}, inflight()); diff != "" {
		t.Errorf("in flight mismatch (-want +got):\n%s", diff)
	}
	for id, picks := range held {
		for range picks {
			release(id)
		}
	}
	if diff := cmp.Diff(map[string]int64{"a": 0, "b": 0, "c": 0}, inflight()); diff != "" {
		t.Errorf("in flight after every Report mismatch (-want +got):\n%s", diff)
	}
}

func TestLowestLatencySelect(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		latencies []time.Duration
		want      string
	}{
		{name: "lowest", latencies: []time.Duration{30 * ms, 10 * ms, 20 * ms}, want: "d1"},
		{name: "unmeasured first", latencies: []time.Duration{30 * ms, 10 * ms, 0}, want: "d2"},
		{name: "unmeasured first even after a fast one", latencies: []time.Duration{ms, 0, 50 * ms}, want: "d1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &LowestLatency{}
			cands := selectorTestCands(make([]int, len(tt.latencies))...)
			for i, l := range tt.latencies {
				cands[i].latency.Store(int64(l))
			}
			for turn := range len(cands) {
				if got := s.Select(cands).ID(); got != tt.want {
					t.Errorf("turn %d: Select = %s, want %s", turn, got, tt.want)
				}
			}
		})
	}
	t.Run("unmeasured ties go round robin", func(t *testing.T) {
		s := &LowestLatency{}
		cands := selectorTestCands(1, 1, 1)
		var got []string
		for range 3 {
			got = append(got, s.Select(cands).ID())
		}
		if want := []string{"d0", "d1", "d2"}; !slices.Equal(got, want) {
			t.Errorf("selections = %v, want %v", got, want)
		}
	})
}

func TestLowestLatencyThroughPool(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{Models: map[string]config.Model{"m": {Strategy: "lowest-latency"}}},
		routerTestDeployment("slow", "m", 1),
		routerTestDeployment("fast", "m", 1),
		routerTestDeployment("mid", "m", 1),
	)
	p := routerTestPool(t, r, "m")
	latency := map[string]time.Duration{"slow": 300 * time.Millisecond, "fast": 100 * time.Millisecond, "mid": 200 * time.Millisecond}
	pickReport := func() string {
		t.Helper()
		pk, err := p.Pick(clk.Now(), nil)
		if err != nil {
			t.Fatalf("Pick: %v", err)
		}
		r.Report(pk, Outcome{Verdict: Success}, latency[pk.ID()])
		return pk.ID()
	}

	// Every deployment is measured before any is preferred.
	first := []string{pickReport(), pickReport(), pickReport()}
	if got := slices.Sorted(slices.Values(first)); !slices.Equal(got, []string{"fast", "mid", "slow"}) {
		t.Fatalf("first picks = %v, want one of each", first)
	}
	for range 5 {
		if got, want := pickReport(), "fast"; got != want {
			t.Fatalf("measured: Pick = %s, want %s", got, want)
		}
	}
	if got, want := routerTestStatus(t, r, "fast").Latency, 100*time.Millisecond; got != want {
		t.Errorf("fast latency = %v, want %v", got, want)
	}

	// One slow answer moves fast's EWMA to 0.8*100ms + 0.2*1s = 280ms.
	latency["fast"] = time.Second
	if got, want := pickReport(), "fast"; got != want {
		t.Fatalf("Pick = %s, want %s", got, want)
	}
	if got, want := routerTestStatus(t, r, "fast").Latency, 280*time.Millisecond; (got - want).Abs() > time.Microsecond {
		t.Errorf("fast latency after a 1s sample = %v, want %v", got, want)
	}
	if got, want := pickReport(), "mid"; got != want {
		t.Errorf("after fast slowed down: Pick = %s, want %s", got, want)
	}

	// Failures do not feed the average.
	pk := routerTestPickID(t, r, p, "slow")
	r.Report(pk, Outcome{Verdict: Transient}, time.Millisecond)
	if got, want := routerTestStatus(t, r, "slow").Latency, 300*time.Millisecond; got != want {
		t.Errorf("slow latency after a failure = %v, want %v", got, want)
	}
}

// TestSelectorCounterWrap runs the turn-taking selectors across the point
// where their uint32 counter no longer fits an int32 and where it wraps.
// On 32-bit platforms (GOARCH=386, arm) LeastInFlight and LowestLatency
// convert the counter to int before the modulo and index with a negative
// number: run this with GOARCH=386 to see it.
func TestSelectorCounterWrap(t *testing.T) {
	for _, start := range []uint32{math.MaxInt32 - 1, math.MaxUint32 - 1} {
		selectors := map[string]func() Selector{
			"round-robin": func() Selector { s := &RoundRobin{}; s.next.Store(start); return s },
			"least-inflight": func() Selector {
				s := &LeastInFlight{}
				s.next.Store(start)
				return s
			},
			"lowest-latency": func() Selector {
				s := &LowestLatency{}
				s.next.Store(start)
				return s
			},
		}
		for name, mk := range selectors {
			t.Run(fmt.Sprintf("%s from %d", name, start), func(t *testing.T) {
				s := mk()
				cands := selectorTestCands(1, 1, 1)
				for i := range 4 {
					func() {
						defer func() {
							if v := recover(); v != nil {
								t.Errorf("Select %d panicked: %v", i, v)
							}
						}()
						if got := s.Select(cands); !slices.Contains(cands, got) {
							t.Errorf("Select %d = %v, not a candidate", i, got)
						}
					}()
				}
			})
		}
	}
}
