package router

import (
	"context"

	"github.com/spillwayhq/spillway/internal/limits"
)

// A caller's own counted limits (its key's and team's rpm and tpm, its
// event's daily cap) ride along with the plan's first pick: the router
// takes them in the same limiter call as the picked deployment's rpm and
// tpm, so a request admitted on Redis costs one script, one round trip.
// The take is all or nothing, and the outcome decides what happens next:
//
//   - all taken: the pick is sent; the rider is spent, and a later pick of
//     the plan (failover) takes only its own deployment's limits;
//   - a caller's limit refused: nothing was taken, the plan stops, and the
//     caller gets its own 429 (Rider.Refused);
//   - only the deployment's refused: nothing was taken; the deployment is
//     marked full as any pick would, and the next candidate is tried with
//     the rider again, a second round trip.
//
// A first candidate without limits of its own (or a pool without a
// limiter) takes the rider alone. When nothing could be picked, the rider
// is left untaken: the caller takes it alone (TakeAlone), so a caller at
// its limit is told so rather than about the deployments.

// Rider is a caller's limits carried by a plan's first pick; see Plan.Carry.
type Rider struct {
	// Limiter is the limiter the limits are counted in. They are taken in
	// one call with a deployment's only when it is the pool's; else each
	// is taken on its own.
	Limiter limits.Limiter
	// Limits are the caller's limits; Out (len(Out) == len(Limits))
	// receives their decisions. When both have room for two more (their
	// capacity), the first pick puts its deployment's rpm and tpm there
	// rather than in a list of its own: the rider's owner keeps it for the
	// request anyway (access.Pending).
	Limits []limits.Limit
	Out    []limits.Decision
	// Err is the take's error, when it failed: the caller's own context
	// ended (a Fallback limiter answers every other failure itself).
	Err   error
	state riderState
}

type riderState uint8

const (
	riderPending riderState = iota
	riderTaken
	riderRefused
)

// Pending reports whether the rider still waits to be taken.
func (r *Rider) Pending() bool { return r.state == riderPending }

// Refused reports whether the take refused the caller (a limit of its was
// full) or failed (Err): nothing was taken, and the plan stopped.
func (r *Rider) Refused() bool { return r.state == riderRefused }

// TakeAlone takes a rider no pick took, on its own: one round trip.
func (r *Rider) TakeAlone(ctx context.Context) {
	if r.state != riderPending {
		return
	}
	r.settle(limits.TakeAll(ctx, r.Limiter, r.Limits, r.Out))
}

// settle records the outcome of a take whose decisions are in r.Out; it
// reports whether the caller's limits were taken.
func (r *Rider) settle(err error) bool {
	switch {
	case err != nil:
		r.Err, r.state = err, riderRefused
	case limits.AllAllowed(r.Out):
		r.state = riderTaken
	default:
		r.state = riderRefused
	}
	return r.state == riderTaken
}

// Carry makes r ride along with the plan's next pick (see Rider). Call it
// before the first Next; a plan without a rider takes only deployments'
// limits.
func (p *Plan) Carry(r *Rider) {
	if r != nil && len(r.Limits) == 0 {
		r.state = riderTaken
		return
	}
	p.rider = r
}

// rider returns the plan's rider while it waits to be taken, else nil.
func (p *Plan) pendingRider() *Rider {
	if p.rider == nil || p.rider.state != riderPending {
		return nil
	}
	return p.rider
}

// maxStackLimits is how many limits one combined take gathers in one
// takeBuf: a caller's five and a deployment's two.
const maxStackLimits = 8

// takeBuf holds a combined take's limits and decisions when the rider
// leaves no room for the deployment's (or there is no rider).
type takeBuf struct {
	ls  [maxStackLimits]limits.Limit
	out [maxStackLimits]limits.Decision
}
