package router

import "sync/atomic"

// RoundRobin takes the candidates in turn.
type RoundRobin struct{ next atomic.Uint32 }

var _ Selector = (*RoundRobin)(nil)

// Select implements Selector.
func (r *RoundRobin) Select(cands []*Deployment) *Deployment {
	n := r.next.Add(1) - 1
	return cands[n%uint32(len(cands))]
}
