// Package access decides whether an authenticated caller may make a
// request now, before any upstream is asked: the event's window, the
// model allow-lists, the max_tokens cap, the key's budget, and the
// counted limits (key rpm and tpm, the event's daily request cap). Each
// refusal is an OpenAI-shaped error whose message says what happened and
// when it changes.
//
// Counted limits go through a limits.Limiter: in memory on one replica,
// in Redis when replicas share one limit. Only admitted requests count
// (DESIGN.md routing rule 10): when a later check refuses, what the earlier
// ones took is given back.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
)

// Values of Options.MaxTokensPolicy.
const (
	// PolicyReject refuses a request asking for more than the cap (400).
	PolicyReject = "reject"
	// PolicyClamp lowers max_tokens to the cap and sends the request.
	PolicyClamp = "clamp"
)

// Options configure a Checker.
type Options struct {
	// Limiter counts rpm, tpm and daily requests. Required.
	Limiter limits.Limiter
	// Ledger tells how much of a budget is spent; nil enforces no budget.
	Ledger *Ledger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxTokensPolicy is PolicyReject (default) or PolicyClamp.
	MaxTokensPolicy string
	// Logger gets limiter failures; default slog.Default().
	Logger *slog.Logger
}

// Checker admits requests. It is safe for concurrent use.
type Checker struct {
	limiter limits.Limiter
	ledger  *Ledger
	now     func() time.Time
	clamp   bool
	log     *slog.Logger
}

// New returns a Checker.
func New(o Options) *Checker {
	c := &Checker{limiter: o.Limiter, ledger: o.Ledger, now: o.Now, clamp: o.MaxTokensPolicy == PolicyClamp, log: o.Logger}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Request is what Admit needs to know of a request.
type Request struct {
	Model string
	// MaxTokens is the request's max_tokens, -1 when absent.
	MaxTokens int64
	// HasMaxTokens is true for operations that take max_tokens (chat and
	// completions), where a cap applies.
	HasMaxTokens bool
	// CapField names the capped field in refusals: max_tokens when "",
	// or the Responses API's max_output_tokens.
	CapField string
	// PromptTokens estimates the prompt's tokens; called only when a tpm
	// limit applies.
	PromptTokens func() int64
}

// Grant is an admitted request's ticket: what to change in it, and what
// to settle once its usage is known.
type Grant struct {
	// MaxTokens, when positive, is the max_tokens the request must be sent
	// with: the cap, applied because it was absent or clamped.
	MaxTokens int64
	// Estimate is the tokens taken from the key's tpm limit before sending.
	Estimate int64
	// takenAt is when the counts were taken: a correction only applies
	// while their windows last. taken lists them, for Release.
	takenAt time.Time
	taken   []counted

	principal *auth.Principal
}

// minute is the window of rpm and tpm limits; day the window of daily
// caps, which therefore reset at UTC midnight.
const (
	minute = time.Minute
	day    = 24 * time.Hour
)

// Admit checks p's request and counts it against p's limits. A refusal is
// an *apierror.Error.
func (c *Checker) Admit(ctx context.Context, p *auth.Principal, r Request) (Grant, error) {
	g := Grant{principal: p}
	if p == nil {
		return g, nil
	}
	now := c.now()
	if err := eventOpen(p.Event, now); err != nil {
		return g, err
	}
	if err := modelAllowed(p, r.Model); err != nil {
		return g, err
	}
	if r.HasMaxTokens {
		max, err := c.maxTokens(p, r.MaxTokens, r.CapField)
		if err != nil {
			return g, err
		}
		g.MaxTokens = max
	}
	if err := c.budget(ctx, p, now); err != nil {
		return g, err
	}
	if err := c.teamBudget(ctx, p.Team, now); err != nil {
		return g, err
	}
	g.takenAt = now
	return c.count(ctx, p, r, g)
}

// Release gives back everything Admit counted for g, for a request that
// never reached an upstream (every deployment busy, say): it used nothing,
// so it must not use up the key's rate or the attendee's daily cap. Counts
// whose window has passed are left alone.
func (c *Checker) Release(ctx context.Context, g Grant) {
	now := c.now()
	for _, t := range g.taken {
		if !limits.SameWindow(g.takenAt, now, t.window) {
			continue
		}
		if err := c.limiter.Adjust(ctx, t.key, t.window, -t.cost); err != nil {
			c.log.Warn("could not give back a limit", "err", err)
		}
	}
}

// counted is one Take that may have to be given back.
type counted struct {
	key    string
	window time.Duration
	cost   int64
}

// count takes the request from each counted limit, in order, giving back
// the earlier ones when a later one refuses.
func (c *Checker) count(ctx context.Context, p *auth.Principal, r Request, g Grant) (Grant, error) {
	var taken []counted
	undo := func() {
		for _, t := range taken {
			if err := c.limiter.Adjust(context.WithoutCancel(ctx), t.key, t.window, -t.cost); err != nil {
				c.log.Warn("could not give back a limit", "key", p.KeyID, "err", err)
			}
		}
	}
	take := func(key string, limit int64, window time.Duration, cost int64, refuse func(limits.Decision) error) error {
		d, err := c.limiter.Take(ctx, key, limit, window, cost)
		switch {
		case errors.Is(err, limits.ErrCostExceedsLimit):
			return refuse(limits.Decision{RetryAfter: -1})
		case err != nil:
			// The limiter is a Fallback: only the caller's own context ends
			// up here. Nothing was taken.
			return err
		case !d.Allowed:
			return refuse(d)
		}
		taken = append(taken, counted{key, window, cost})
		return nil
	}

	// What the request will be sent with: the granted cap, else what it
	// asked for; estimated once, for every tpm limit.
	est := int64(-1)
	all, n := scopes(p)
	for _, sc := range all[:n] {
		if sc.rpm > 0 {
			if err := take(sc.rpmKey(), int64(sc.rpm), minute, 1, func(d limits.Decision) error {
				return limited(fmt.Sprintf("rate limit of %d requests per minute reached for %s", sc.rpm, sc.whose()), d.RetryAfter)
			}); err != nil {
				undo()
				return g, err
			}
		}
		if sc.tpm > 0 {
			if est < 0 {
				est = max(0, r.MaxTokens)
				if g.MaxTokens > 0 {
					est = g.MaxTokens
				}
				if r.PromptTokens != nil {
					est += r.PromptTokens()
				}
				est = max(est, 1)
			}
			if err := take(sc.tpmKey(), int64(sc.tpm), minute, est, func(d limits.Decision) error {
				if d.RetryAfter < 0 {
					return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "tokens_exceed_limit",
						Message: fmt.Sprintf("this request needs about %d tokens (prompt and max_tokens), more than %s limit of %d tokens per minute; send fewer tokens or a lower max_tokens", est, sc.owns(), sc.tpm)}
				}
				return limited(fmt.Sprintf("rate limit of %d tokens per minute reached for %s", sc.tpm, sc.whose()), d.RetryAfter)
			}); err != nil {
				undo()
				return g, err
			}
			g.Estimate = est
		}
	}
	if ev := p.Event; ev != nil && ev.DailyRequestCap > 0 {
		if err := take("event:daily:"+ev.ID+":"+p.KeyID, int64(ev.DailyRequestCap), day, 1, func(d limits.Decision) error {
			return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "daily_request_cap_reached", RetryAfter: d.RetryAfter,
				Message: fmt.Sprintf("daily request cap of %d reached; resets at UTC midnight (in %s)", ev.DailyRequestCap, roundUp(d.RetryAfter))}
		}); err != nil {
			undo()
			return g, err
		}
	}
	g.taken = taken
	return g, nil
}

// Settle corrects the key's and its team's tpm counts by the request's actual tokens and
// adds its usage to the budget ledger. Call it once per admitted request,
// after its usage is known (tokens 0 when none was used).
func (c *Checker) Settle(ctx context.Context, g Grant, tokens int64, cost float64) {
	p := g.principal
	if p == nil {
		return
	}
	if g.Estimate > 0 && tokens != g.Estimate && limits.SameWindow(g.takenAt, c.now(), minute) {
		all, n := scopes(p)
		for _, sc := range all[:n] {
			if sc.tpm <= 0 {
				continue
			}
			if err := c.limiter.Adjust(ctx, sc.tpmKey(), minute, tokens-g.Estimate); err != nil {
				c.log.Warn("could not correct a tpm count", "key", p.KeyID, "limit", sc.tpmKey(), "err", err)
			}
		}
	}
	if c.ledger != nil && hasBudget(p) {
		c.ledger.Add(p.KeyID, Spend{Tokens: tokens, Cost: cost})
	}
	if c.ledger != nil && teamHasBudget(p.Team) {
		c.ledger.AddTeam(p.Team.ID, Spend{Tokens: tokens, Cost: cost})
	}
}

func limited(msg string, retry time.Duration) error {
	return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: retry,
		Message: fmt.Sprintf("%s; retry after %ds", msg, apierror.RetryAfterSeconds(retry))}
}

// roundUp is d in whole seconds, rounded up, as Retry-After says it.
func roundUp(d time.Duration) time.Duration {
	return time.Duration(apierror.RetryAfterSeconds(d)) * time.Second
}

// eventOpen refuses an attendee outside the event's window or when the
// organiser switched it off.
func eventOpen(ev *auth.Event, now time.Time) error {
	if ev == nil {
		return nil
	}
	notActive := func(msg string) error {
		return &apierror.Error{Status: http.StatusForbidden, Type: apierror.TypePermission, Code: "event_not_active", Message: msg}
	}
	switch {
	case !ev.Active:
		return notActive(fmt.Sprintf("event %q is not active: its organiser switched it off", ev.Name))
	case now.Before(ev.Start):
		return notActive(fmt.Sprintf("event not active (starts at %s)", when(ev.Start, ev.TimeZone)))
	case !now.Before(ev.End):
		return notActive(fmt.Sprintf("event not active (ended at %s)", when(ev.End, ev.TimeZone)))
	}
	return nil
}

// when formats t in the event's time zone and in UTC.
func when(t time.Time, tz string) string {
	utc := t.UTC().Format(time.RFC3339)
	loc, err := time.LoadLocation(tz)
	if tz == "" || tz == "UTC" || err != nil {
		return utc
	}
	return t.In(loc).Format("2006-01-02 15:04 MST") + " " + tz + ", " + utc
}

// modelAllowed checks the key's, the team's and the event's allow-lists.
func modelAllowed(p *auth.Principal, model string) error {
	allowed := Models(p)
	if allowed == nil || slices.Contains(allowed, model) {
		return nil
	}
	list := "none"
	if len(allowed) > 0 {
		list = strings.Join(allowed, ", ")
	}
	return &apierror.Error{Status: http.StatusForbidden, Type: apierror.TypePermission, Param: "model", Code: "model_not_allowed",
		Message: fmt.Sprintf("model %q is not allowed for this key; allowed: %s", model, list)}
}

// Models returns the models p may use: the key's allow-list, narrowed by
// its team's and its event's; nil means any.
func Models(p *auth.Principal) []string {
	var allowed []string // nil: any so far
	narrow := func(list []string) {
		switch {
		case len(list) == 0:
		case allowed == nil:
			allowed = list
		default:
			allowed = slices.DeleteFunc(slices.Clone(allowed), func(m string) bool { return !slices.Contains(list, m) })
		}
	}
	narrow(p.Models)
	if p.Team != nil {
		narrow(p.Team.Models)
	}
	if p.Event != nil {
		narrow(p.Event.Models)
	}
	return allowed
}

// MaxTokensCap returns the cap on p's max_tokens, 0 for none: the lower of
// the key's and its event's.
func MaxTokensCap(p *auth.Principal) int64 {
	limit := int64(p.MaxTokens)
	if p.Event != nil && p.Event.MaxTokenCap > 0 && (limit == 0 || int64(p.Event.MaxTokenCap) < limit) {
		limit = int64(p.Event.MaxTokenCap)
	}
	return limit
}

// maxTokens applies the cap: a request without max_tokens gets the cap; one
// above it is refused or clamped by policy.
func (c *Checker) maxTokens(p *auth.Principal, asked int64, field string) (int64, error) {
	if field == "" {
		field = "max_tokens"
	}
	limit := MaxTokensCap(p)
	switch {
	case limit == 0:
		return 0, nil
	case asked < 0:
		return limit, nil
	case asked <= limit:
		return 0, nil
	case c.clamp:
		return limit, nil
	}
	return 0, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.TypeInvalidRequest, Param: field, Code: "max_tokens_exceeded",
		Message: fmt.Sprintf("%s %d is above this key's cap of %d; send %s of %d or less", field, asked, limit, field, limit)}
}
