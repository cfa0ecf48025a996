package router

import "sync/atomic"

// LeastInFlight picks the deployment with the fewest attempts in flight;
// ties go round robin so idle deployments share the load.
type LeastInFlight struct{ next atomic.Uint32 }

var _ Selector = (*LeastInFlight)(nil)

// Select implements Selector.
func (l *LeastInFlight) Select(cands []*Deployment) *Deployment {
	start := int((l.next.Add(1) - 1) % uint32(len(cands)))
	best := cands[start]
	for i := 1; i < len(cands); i++ {
		d := cands[(start+i)%len(cands)]
		if d.InFlight() < best.InFlight() {
			best = d
		}
	}
	return best
}
