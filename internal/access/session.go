package access

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
)

// A Realtime session is admitted once, at connect, and then charged for
// each response as its usage arrives; between responses the gateway asks
// whether the key is still within its tpm and budget, and closes the
// session when it is not.

// Charge adds a running session's tokens to the tpm counts of the key and
// its team and its usage to their budgets. Unlike Settle there is no
// estimate to correct: each response's tokens are new.
func (c *Checker) Charge(ctx context.Context, g Grant, tokens int64, cost float64) {
	p := g.principal
	if p == nil {
		return
	}
	all, n := scopes(p)
	for _, sc := range all[:n] {
		if sc.tpm <= 0 || tokens <= 0 {
			continue
		}
		if err := c.limiter.Adjust(ctx, sc.tpmKey(), minute, tokens); err != nil {
			c.adjustFailed("could not count a session's tokens against "+sc.tpmKey(), err)
		}
	}
	if c.ledger != nil && hasBudget(p) {
		c.ledger.Add(p.KeyID, Spend{Tokens: tokens, Cost: cost})
	}
	if c.ledger != nil && teamHasBudget(p.Team) {
		c.ledger.AddTeam(p.Team.ID, Spend{Tokens: tokens, Cost: cost})
	}
}

// Exhausted returns the refusal a new request of g's caller would get now
// from its key's or team's tpm limit or budget, or nil while they have
// room. A session past one is closed with this error's message.
func (c *Checker) Exhausted(ctx context.Context, g Grant) error {
	p := g.principal
	if p == nil {
		return nil
	}
	now := c.now()
	all, n := scopes(p)
	for _, sc := range all[:n] {
		if sc.tpm <= 0 {
			continue
		}
		d, err := c.limiter.Take(ctx, sc.tpmKey(), int64(sc.tpm), minute, 0)
		if err == nil && d.Remaining <= 0 {
			return limited(fmt.Sprintf("rate limit of %d tokens per minute reached for %s", sc.tpm, sc.whose()), limits.UntilReset(now, minute))
		}
	}
	if err := c.budget(ctx, p, now); err != nil {
		return err
	}
	return c.teamBudget(ctx, p.Team, now)
}

// sessionLease is how long a session's slot is held without being
// renewed: a replica that crashes frees its sessions' slots within it. A
// live session renews every sessionRenew, so two renewals can fail in a
// row before its slot lapses.
const (
	sessionLease = 60 * time.Second
	sessionRenew = sessionLease / 3
)

// Slot is one of a key's parallel Realtime sessions: a leased slot
// (limits.Slots, as for max_parallel_requests) shared by every replica,
// renewed while the session lives. A nil *Slot (no cap) does nothing.
type Slot struct {
	c      *Checker
	slots  limits.Slots
	key    string
	holder string
	limit  int64
}

// OpenSession takes one of p's parallel-session slots, or refuses with a
// 429 when limit sessions are open already. limit 0 is no cap (nil slot).
func (c *Checker) OpenSession(ctx context.Context, p *auth.Principal, limit int) (*Slot, error) {
	slots, ok := c.limiter.(limits.Slots)
	if limit <= 0 || p == nil || !ok {
		return nil, nil
	}
	s := &Slot{c: c, slots: slots, key: "key:sessions:" + p.KeyID, holder: rand.Text(), limit: int64(limit)}
	got, err := slots.Acquire(ctx, s.key, s.holder, s.limit, sessionLease)
	if err != nil {
		return nil, err
	}
	if !got {
		return nil, &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "too_many_sessions",
			Message: fmt.Sprintf("this key already has %d Realtime sessions open, its limit; close one and connect again", limit)}
	}
	return s, nil
}

// RenewIn is how long until the slot should be renewed.
func (s *Slot) RenewIn() time.Duration {
	if s == nil {
		return 0
	}
	return sessionRenew
}

// Renew starts the slot's lease again. A slot that lapsed meanwhile (its
// renewals failed for a whole lease) and was taken by another session
// cannot be renewed: the session goes on, and the failure is counted.
func (s *Slot) Renew(ctx context.Context) {
	if s == nil {
		return
	}
	got, err := s.slots.Acquire(ctx, s.key, s.holder, s.limit, sessionLease)
	switch {
	case err != nil:
		s.c.adjustFailed("could not renew a session slot", err)
	case !got:
		s.c.adjustFailed("could not renew a session slot", errSlotLapsed)
	}
}

// errSlotLapsed says a session's slot lease ended before it was renewed
// and the key's sessions are at their cap again.
var errSlotLapsed = errors.New("its lease ended and the key's sessions are at their cap")

// Close gives the slot back.
func (s *Slot) Close(ctx context.Context) {
	if s == nil {
		return
	}
	if err := s.slots.Release(ctx, s.key, s.holder); err != nil {
		s.c.adjustFailed("could not give back a session slot", err)
	}
}
