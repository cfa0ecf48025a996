package router

import "math/rand/v2"

// Weighted picks at random in proportion to each deployment's weight.
type Weighted struct{}

var _ Selector = Weighted{}

// Select implements Selector.
func (Weighted) Select(cands []*Deployment) *Deployment {
	total := 0
	for _, d := range cands {
		total += max(d.Config.Weight, 1)
	}
	n := rand.IntN(total)
	for _, d := range cands {
		n -= max(d.Config.Weight, 1)
		if n < 0 {
			return d
		}
	}
	return cands[len(cands)-1]
}
