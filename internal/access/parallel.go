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
// across replicas, and its team's caps all the team's keys together: each
// admitted request holds a slot (limits.Slots) of each cap until Finish.
// The slot is leased for parallelLease, so one whose replica died before
// giving it back comes free by itself; a request that runs longer than the
// lease (a very long stream) stops holding it then.
const parallelLease = 10 * time.Minute

// heldSlots are the parallel slots a request holds: one holder id, in the
// key's slots, the team's, or both.
type heldSlots struct {
	holder string
	key    bool
	team   string // the team's id, "" for none
}

// holdSlot takes one of p's parallel slots and one of its team's for the
// request, or refuses it holding neither. Without a cap, or with a limiter
// that has no slots, it does nothing.
func (c *Checker) holdSlot(ctx context.Context, p *auth.Principal, g *Grant) error {
	if !holdsSlots(p) {
		return nil
	}
	teamCap := 0
	if p.Team != nil {
		teamCap = p.Team.MaxParallel
	}
	slots, ok := c.limiter.(limits.Slots)
	if !ok {
		return nil
	}
	h := heldSlots{holder: rand.Text()}
	if p.MaxParallel > 0 {
		got, err := slots.Acquire(ctx, parallelKey(p.KeyID), h.holder, int64(p.MaxParallel), parallelLease)
		switch {
		case err != nil:
			return err
		case !got:
			return parallelRefused(fmt.Sprintf("this key already has %d requests in flight, its max_parallel_requests", p.MaxParallel))
		}
		h.key = true
	}
	if teamCap > 0 {
		got, err := slots.Acquire(ctx, parallelTeamKey(p.Team.ID), h.holder, int64(teamCap), parallelLease)
		if err != nil || !got {
			// The key's slot, if taken, is given back at once.
			c.release(ctx, slots, p.KeyID, h)
			if err != nil {
				return err
			}
			return parallelRefused(fmt.Sprintf("%s already has %d requests in flight, the team's max_parallel_requests", teamName(p.Team), teamCap))
		}
		h.team = p.Team.ID
	}
	g.slots = h
	return nil
}

// holdsSlots reports whether p's requests hold parallel slots: its key's
// or its team's max_parallel_requests is set.
func holdsSlots(p *auth.Principal) bool {
	return p.MaxParallel > 0 || p.Team != nil && p.Team.MaxParallel > 0
}

func parallelRefused(why string) error {
	return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "parallel_requests_exceeded", RetryAfter: time.Second,
		Message: why + "; send the next when one finishes"}
}

func parallelKey(keyID string) string      { return "key:parallel:" + keyID }
func parallelTeamKey(teamID string) string { return "team:parallel:" + teamID }

// Finish ends an admitted request: its parallel slots, if it holds any,
// are given back. Call it once when the request is over, however it ended
// (answered, refused upstream, client gone, panic); it uses a context that
// outlives ctx's cancellation.
func (c *Checker) Finish(ctx context.Context, g Grant) {
	if g.slots.holder == "" || g.principal == nil {
		return
	}
	slots, ok := c.limiter.(limits.Slots)
	if !ok {
		return
	}
	c.release(ctx, slots, g.principal.KeyID, g.slots)
}

// release gives back the slots h holds.
func (c *Checker) release(ctx context.Context, slots limits.Slots, keyID string, h heldSlots) {
	ctx = context.WithoutCancel(ctx)
	if h.key {
		if err := slots.Release(ctx, parallelKey(keyID), h.holder); err != nil {
			c.adjustFailed("could not give back a parallel request slot", err)
		}
	}
	if h.team != "" {
		if err := slots.Release(ctx, parallelTeamKey(h.team), h.holder); err != nil {
			c.adjustFailed("could not give back a team's parallel request slot", err)
		}
	}
}
