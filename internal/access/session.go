package access

import (
	"context"
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

// sessionWindow is how long a session's slot counts without being
// renewed: a replica that crashes frees its sessions' slots within it.
const sessionWindow = 30 * time.Second

// Slot is one of a key's parallel Realtime sessions, counted in the
// shared limiter so that replicas enforce one cap. The count lives in
// fixed windows of sessionWindow: a live session renews its slot in each
// new window (Renew, at RenewIn), and one whose replica died is simply not
// counted in the next. A nil *Slot (no cap) does nothing.
type Slot struct {
	c    *Checker
	key  string
	held time.Time // when the slot was last counted
}

// OpenSession takes one of p's parallel-session slots, or refuses with a
// 429 when limit sessions are open already. limit 0 is no cap (nil slot).
func (c *Checker) OpenSession(ctx context.Context, p *auth.Principal, limit int) (*Slot, error) {
	if limit <= 0 || p == nil {
		return nil, nil
	}
	s := &Slot{c: c, key: "key:sessions:" + p.KeyID, held: c.now()}
	d, err := c.limiter.Take(ctx, s.key, int64(limit), sessionWindow, 1)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return nil, &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "too_many_sessions",
			Message: fmt.Sprintf("this key already has %d Realtime sessions open, its limit; close one and connect again", limit)}
	}
	return s, nil
}

// RenewIn is how long until the slot must be renewed: the start of the
// next window.
func (s *Slot) RenewIn() time.Duration {
	if s == nil {
		return 0
	}
	return limits.UntilReset(s.c.now(), sessionWindow)
}

// Renew counts the slot in the current window, once per window.
func (s *Slot) Renew(ctx context.Context) {
	if s == nil {
		return
	}
	now := s.c.now()
	if limits.SameWindow(s.held, now, sessionWindow) {
		return
	}
	s.held = now
	if err := s.c.limiter.Adjust(ctx, s.key, sessionWindow, 1); err != nil {
		s.c.adjustFailed("could not renew a session slot", err)
	}
}

// Close gives the slot back. Only the current window's count is
// corrected; an earlier one has ended anyway.
func (s *Slot) Close(ctx context.Context) {
	if s == nil || !limits.SameWindow(s.held, s.c.now(), sessionWindow) {
		return
	}
	if err := s.c.limiter.Adjust(ctx, s.key, sessionWindow, -1); err != nil {
		s.c.adjustFailed("could not give back a session slot", err)
	}
}
