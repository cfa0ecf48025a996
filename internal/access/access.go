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
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
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
	// adjustFailures counts give-backs and corrections the limiter
	// refused, so a lost one shows in a metric (AdjustFailures).
	adjustFailures atomic.Int64
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
	// PromptTokens estimates the prompt's tokens; asked only when a tpm
	// limit applies.
	PromptTokens PromptEstimator
	// Pending, when not nil, defers the counted limits: Admit lists them
	// in it instead of taking them, so the caller can take them in one
	// step with others (the first deployment's, router.Rider) and hand
	// the outcome to Checker.Counted. A request that holds parallel slots
	// is counted at once all the same (its slots are taken after its
	// counts); Pending.Deferred tells which happened.
	Pending *Pending
}

// PromptEstimator estimates a request's prompt tokens. An interface, not a
// func: the gateway's per-request state is one, where a method value of it
// was an allocation per request (Admit's Request escapes).
type PromptEstimator interface {
	PromptTokens() int64
}

// PromptFunc is a PromptEstimator of a function.
type PromptFunc func() int64

// PromptTokens returns f().
func (f PromptFunc) PromptTokens() int64 { return f() }

// Grant is an admitted request's ticket: what to change in it, and what
// to settle once its usage is known.
type Grant struct {
	// MaxTokens, when positive, is the max_tokens the request must be sent
	// with: the cap, applied because it was absent or clamped.
	MaxTokens int64
	// Estimate is the tokens taken from the key's tpm limit before sending.
	Estimate int64
	// Limits is what the caller is told of its limits (x-ratelimit-*
	// headers), on an admitted request and on a refused one alike.
	Limits RateLimits
	// takenAt is when the counts were taken: a correction only applies
	// while their windows last. taken lists them, for Release.
	takenAt time.Time
	taken   []limits.Limit
	// slots are the parallel-request slots held until Finish.
	slots heldSlots

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
	if r.Pending != nil {
		*r.Pending = Pending{}
		if !holdsSlots(p) {
			return c.listPending(p, r, g)
		}
	}
	g, err := c.count(ctx, p, r, g)
	if err != nil {
		return g, err
	}
	if err := c.holdSlot(ctx, p, &g); err != nil {
		// Refused after all: what was counted is given back.
		c.Release(context.WithoutCancel(ctx), g)
		g.taken = nil
		return g, err
	}
	return g, nil
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
