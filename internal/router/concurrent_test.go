package router

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

// TestRouterConcurrent hammers Pick, Report, Update and Status from many
// goroutines (run it with -race). Afterwards nothing is left in flight, no
// probe is leaked, and every deployment comes back once its time is up.
func TestRouterConcurrent(t *testing.T) {
	const (
		workers    = 8
		iterations = 2000
		updates    = 200
	)
	configA := []config.Deployment{
		routerTestDeployment("a", "m", 1),
		routerTestDeployment("b", "m", 1),
		routerTestDeployment("c", "m", 2),
		routerTestDeployment("x", "m", 2),
	}
	configB := []config.Deployment{
		routerTestDeployment("a", "m", 2), // changes tier, keeps its state
		routerTestDeployment("b", "m", 1),
		routerTestDeployment("c", "m", 2),
		routerTestDeployment("y", "m", 1),
	}
	outcomes := []Outcome{
		{Verdict: Success},
		{Verdict: Success},
		{Verdict: Success},
		{Verdict: CallerError},
		{Verdict: RateLimited, Cooldown: 3 * time.Millisecond, Reason: "429"},
		{Verdict: RateLimited, Reason: "429"},
		{Verdict: QuotaExhausted, Cooldown: 5 * time.Millisecond},
		{Verdict: AuthFailed, Cooldown: 2 * time.Millisecond},
		{Verdict: DeploymentGone, Cooldown: time.Millisecond},
		{Verdict: Transient, Reason: "upstream 500"},
		{Verdict: Transient, Reason: "timeout"},
		{Verdict: TooLarge},
		{Verdict: ClientGone},
		{Verdict: ContextTooLong},
	}
	strategies := []string{"round-robin", "weighted", "least-inflight", "lowest-latency", "random"}
	for _, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{
				Strategy: strategy, Cooldown: 4 * time.Millisecond, FailureThreshold: 2, CircuitOpen: 10 * time.Millisecond,
			}, configA...)

			var (
				mu     sync.Mutex
				seen   = map[*state]string{} // every state a pick touched, old tables included
				work   sync.WaitGroup
				others sync.WaitGroup
				done   = make(chan struct{})
			)
			for w := range workers {
				work.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 42))
					local := map[*state]string{}
					var tried []*Deployment
					for range iterations {
						p, err := r.Pool("m", config.ClassChat)
						if err != nil {
							t.Errorf("Pool: %v", err)
							return
						}
						tried = tried[:0]
						for range 3 {
							pick, err := p.Pick(r.Now(), tried)
							if err != nil {
								break
							}
							local[pick.state] = pick.ID()
							tried = append(tried, pick.Deployment)
							o := outcomes[rng.IntN(len(outcomes))]
							r.Report(pick, o, time.Duration(1+rng.IntN(100))*time.Millisecond)
							if !o.Verdict.Retryable() {
								break
							}
						}
					}
					mu.Lock()
					for s, id := range local {
						seen[s] = id
					}
					mu.Unlock()
				})
			}
			others.Go(func() { // the clock
				for {
					select {
					case <-done:
						return
					default:
						clk.Advance(time.Millisecond)
						time.Sleep(10 * time.Microsecond)
					}
				}
			})
			others.Go(func() { // config reloads
				for i := range updates {
					deps := configA
					if i%2 == 1 {
						deps = configB
					}
					if err := r.Update(deps); err != nil {
						t.Errorf("Update %d: %v", i, err)
						return
					}
					time.Sleep(20 * time.Microsecond)
				}
			})
			others.Go(func() { // status page readers
				for {
					select {
					case <-done:
						return
					default:
						for _, s := range r.Status() {
							if s.InFlight < 0 {
								t.Errorf("%s in flight = %d, want >= 0", s.ID, s.InFlight)
							}
						}
						_ = r.Models()
						time.Sleep(50 * time.Microsecond)
					}
				}
			})
			work.Wait()
			close(done)
			others.Wait()
			if t.Failed() {
				return
			}

			for s, id := range seen {
				if got, want := s.inflight.Load(), int64(0); got != want {
					t.Errorf("%s in flight = %d, want %d", id, got, want)
				}
			}
			if len(seen) < 4 {
				t.Errorf("picks touched %d deployment states, want at least 4", len(seen))
			}
			for _, s := range r.Status() {
				if got, want := s.InFlight, int64(0); got != want {
					t.Errorf("Status %s in flight = %d, want %d", s.ID, got, want)
				}
			}

			// Once every cooldown and open period is over, each deployment
			// takes a request: no probe was leaked.
			clk.Advance(time.Hour)
			p := routerTestPool(t, r, "m")
			for _, d := range p.Deployments() {
				pick := routerTestPickID(t, r, p, d.ID())
				r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
				if got, want := routerTestStatus(t, r, d.ID()).State, "serving"; got != want {
					t.Errorf("%s state = %q, want %q", d.ID(), got, want)
				}
			}
		})
	}
}
