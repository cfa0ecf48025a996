package router

import "fmt"

// Selector picks one deployment among the available candidates of a
// priority tier. cands is never empty and must not be retained.
// Implementations are safe for concurrent use; there is one per tier.
type Selector interface {
	Select(cands []*Deployment) *Deployment
}

// NewSelector returns the selector of a strategy named in the config.
func NewSelector(strategy string) (Selector, error) {
	switch strategy {
	case "", "round-robin":
		return &RoundRobin{}, nil
	case "weighted":
		return Weighted{}, nil
	case "least-inflight":
		return &LeastInFlight{}, nil
	case "lowest-latency":
		return &LowestLatency{}, nil
	case "random":
		return Random{}, nil
	default:
		return nil, fmt.Errorf("unknown routing strategy %q", strategy)
	}
}
