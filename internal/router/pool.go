package router

import (
	"context"
	"errors"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// Pool is every active deployment of one public model that can serve one
// class, grouped into priority tiers, best first.
type Pool struct {
	Model   string
	Class   string
	tiers   []tier
	limiter limits.Limiter // nil: deployments' rpm/tpm are not counted
	// countsTokens: a deployment has a tpm limit the limiter counts.
	countsTokens bool
}

type tier struct {
	priority    int
	deployments []*Deployment
	selector    Selector
}

// Pick is a deployment chosen for one attempt. Pass it back to
// Router.Report when the attempt is over.
type Pick struct {
	*Deployment
	probe bool
	// demand is the tokens taken from the deployment's tpm for this
	// attempt at pickedAt, given back when the attempt fails within that
	// minute.
	demand   int64
	pickedAt time.Time
}

// maxStackCandidates is how many candidates of one tier are gathered
// without allocating.
const maxStackCandidates = 16

// Pick chooses the deployment for the next attempt: the best priority tier
// that has an available deployment not yet tried by this request, and within
// it the tier's selector. When nothing is available it returns
// *UnavailableError with the soonest time one may come back.
func (p *Pool) Pick(now time.Time, tried []*Deployment) (Pick, error) {
	return p.PickFor(context.Background(), now, tried, 0)
}

// PickFor is Pick for a request expected to use demand tokens (prompt and
// max_tokens): a deployment with rpm/tpm limits is picked only if the
// request fits them, and is counted against them (limits.go).
func (p *Pool) PickFor(ctx context.Context, now time.Time, tried []*Deployment, demand int64) (Pick, error) {
	return p.pickFor(ctx, now, tried, demand, nil)
}

// errRiderRefused stops a plan whose rider was refused (rider.go).
var errRiderRefused = errors.New("router: the caller's own limits refused the request")

// pickFor is PickFor taking rider, when not nil, with the pick (rider.go).
// It returns errRiderRefused when the rider was refused.
func (p *Pool) pickFor(ctx context.Context, now time.Time, tried []*Deployment, demand int64, rider *Rider) (Pick, error) {
	var soonest time.Time
	untried := 0
	tooLarge := false
	for ti := range p.tiers {
		t := &p.tiers[ti]
		var buf [maxStackCandidates]*Deployment
		cands := buf[:0]
		for _, d := range t.deployments {
			if contains(tried, d) {
				continue
			}
			untried++
			ok, back := d.available(now)
			if !ok {
				if !back.IsZero() && (soonest.IsZero() || back.Before(soonest)) {
					soonest = back
				}
				continue
			}
			cands = append(cands, d)
		}
		for len(cands) > 0 {
			d := selectFrom(t.selector, cands)
			ok, probe := d.circuit.claim(now)
			if !ok {
				// Another request holds the half-open probe: drop it and pick again.
				cands = remove(cands, d)
				continue
			}
			if rider != nil || p.limiter != nil && d.limited() {
				switch verdict, back := p.take(ctx, d, now, demand, rider); verdict {
				case limitRiderRefused:
					d.circuit.release(probe)
					return Pick{}, errRiderRefused
				case limitFull:
					d.circuit.release(probe)
					if soonest.IsZero() || back.Before(soonest) {
						soonest = back
					}
					cands = remove(cands, d)
					continue
				case limitTooLarge:
					d.circuit.release(probe)
					tooLarge = true
					cands = remove(cands, d)
					continue
				}
			}
			d.inflight.Add(1)
			d.requests.Add(1)
			pick := Pick{Deployment: d, probe: probe}
			if p.limiter != nil && d.Config.TPM > 0 {
				pick.demand, pick.pickedAt = max(demand, 1), now
			}
			return pick, nil
		}
	}
	return Pick{}, &UnavailableError{Model: p.Model, RetryAt: soonest, AllTried: untried == 0, TooLarge: tooLarge && soonest.IsZero()}
}

// CountsTokens reports whether picks from the pool count tokens against a
// deployment's tpm limit, so the caller must estimate them.
func (p *Pool) CountsTokens() bool { return p.countsTokens }

// Deployments returns the pool's deployments, best tier first.
func (p *Pool) Deployments() []*Deployment {
	var out []*Deployment
	for _, t := range p.tiers {
		out = append(out, t.deployments...)
	}
	return out
}

func contains(ds []*Deployment, d *Deployment) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func remove(ds []*Deployment, d *Deployment) []*Deployment {
	for i, x := range ds {
		if x == d {
			return append(ds[:i], ds[i+1:]...)
		}
	}
	return ds
}

// RetryAt returns the soonest time a deployment of the pool comes back, or
// zero when one is available now (or none will come back by itself).
func (p *Pool) RetryAt(now time.Time) time.Time {
	var soonest time.Time
	for _, t := range p.tiers {
		for _, d := range t.deployments {
			ok, back := d.available(now)
			if ok {
				return time.Time{}
			}
			if !back.IsZero() && (soonest.IsZero() || back.Before(soonest)) {
				soonest = back
			}
		}
	}
	return soonest
}

// selectFrom calls the tier's selector. The built-in selectors are called
// directly: through the interface the compiler must assume cands escapes,
// and the candidate buffer would move to the heap on every pick. Any other
// Selector gets its own copy.
func selectFrom(sel Selector, cands []*Deployment) *Deployment {
	switch s := sel.(type) {
	case *RoundRobin:
		return s.Select(cands)
	case *LeastInFlight:
		return s.Select(cands)
	case *LowestLatency:
		return s.Select(cands)
	case Weighted:
		return s.Select(cands)
	case Random:
		return s.Select(cands)
	}
	return sel.Select(append([]*Deployment(nil), cands...))
}
