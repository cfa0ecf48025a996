package router

import "math/rand/v2"

// Random picks uniformly at random.
type Random struct{}

var _ Selector = Random{}

// Select implements Selector.
func (Random) Select(cands []*Deployment) *Deployment {
	return cands[rand.IntN(len(cands))]
}
