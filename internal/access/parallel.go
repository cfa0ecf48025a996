package access

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
)

// A key's max_parallel_requests caps its requests in flight at once,
// across replicas: each admitted request holds a slot (limits.Slots) until
// Finish. The slot is leased for parallelLease, so one whose replica died
// before giving it back comes free by itself; a request that runs longer
// than the lease (a very long stream) stops holding it then.
const parallelLease = 10 * time.Minute

// holdSlot takes one of p's parallel slots for the request, or refuses
// it. Without a cap, or with a limiter that has no slots, it does nothing.
func (c *Checker) holdSlot(ctx context.Context, p *auth.Principal, g *Grant) error {
	if p.MaxParallel <= 0 {
		return nil
	}
	slots, ok := c.limiter.(limits.Slots)
	if !ok {
		return nil
	}
	holder := rand.Text()
	got, err := slots.Acquire(ctx, parallelKey(p), holder, int64(p.MaxParallel), parallelLease)
	switch {
	case err != nil:
		return err
	case !got:
		return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "parallel_requests_exceeded", RetryAfter: time.Second,
			Message: fmt.Sprintf("this key already has %d requests in flight, its max_parallel_requests; send the next when one finishes", p.MaxParallel)}
	}
	g.slot = holder
	return nil
}

func parallelKey(p *auth.Principal) string { return "key:parallel:" + p.KeyID }

// Finish ends an admitted request: its parallel slot, if it holds one, is
// given back. Call it once when the request is over, however it ended
// (answered, refused upstream, client gone, panic); it uses a context that
// outlives ctx's cancellation.
func (c *Checker) Finish(ctx context.Context, g Grant) {
	if g.slot == "" || g.principal == nil {
		return
	}
	slots, ok := c.limiter.(limits.Slots)
	if !ok {
		return
	}
	if err := slots.Release(context.WithoutCancel(ctx), parallelKey(g.principal), g.slot); err != nil {
		c.adjustFailed("could not give back a parallel request slot", err)
	}
}
