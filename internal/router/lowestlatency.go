package router

import "sync/atomic"

// LowestLatency picks the deployment with the lowest smoothed latency.
// Deployments not measured yet go first so every one gets measured; ties go
// round robin.
type LowestLatency struct{ next atomic.Uint32 }

var _ Selector = (*LowestLatency)(nil)

// Select implements Selector.
func (l *LowestLatency) Select(cands []*Deployment) *Deployment {
	start := int((l.next.Add(1) - 1) % uint32(len(cands)))
	best := cands[start]
	for i := 1; i < len(cands); i++ {
		d := cands[(start+i)%len(cands)]
		if d.Latency() < best.Latency() {
			best = d
		}
	}
	return best
}
