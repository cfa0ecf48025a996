package access

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
)

// The counted limits of a request (each scope's rpm and tpm: the key's,
// its team's; its event's daily cap) are one list, taken by one
// limits.TakeAll: one atomic step, one Redis round trip, all or nothing,
// so nothing has to be given back when a later limit refuses. A new kind
// of limit is one more limitKind and one more entry in limitsOf.

// limitKind names a counted limit: which header family it shows under and
// how its refusal reads.
type limitKind uint8

const (
	scopeRPM limitKind = iota
	scopeTPM
	eventDaily
)

// tokens reports whether the limit counts tokens (else requests).
func (k limitKind) tokens() bool { return k == scopeTPM }

// maxLimits is how many limits a request has at most (rpm and tpm per
// scope, and the daily cap), so they fit on the stack.
const maxLimits = 2*maxScopes + 1

// pickRoom is the room a Pending leaves after the caller's limits and
// decisions for the first pick's deployment's rpm and tpm, taken in the
// same call (router.Rider), so that the pick needs no list of its own.
const pickRoom = 2

// requestLimits is the list of a request's counted limits, with the scope
// each belongs to (for its refusal).
type requestLimits struct {
	n      int
	ls     [maxLimits + pickRoom]limits.Limit // pickRoom: see Pending
	kinds  [maxLimits]limitKind
	scopes [maxLimits]scope
}

func (rl *requestLimits) add(k limitKind, sc scope, key string, limit int64, window time.Duration, cost int64) {
	rl.ls[rl.n] = limits.Limit{Key: key, Limit: limit, Window: window, Cost: cost}
	rl.kinds[rl.n], rl.scopes[rl.n] = k, sc
	rl.n++
}

// limitsOf lists p's counted limits for a request estimated at est tokens
// (est is asked for only when a tpm limit applies, once). rl is
// overwritten up to its new n, not cleared: its callers hand it over
// cleared already, and clearing a requestLimits again is a memclr of most
// of a KiB per request. The limiter keys share one string (keyText).
func limitsOf(rl *requestLimits, p *auth.Principal, est func() int64) {
	rl.n = 0
	tokens := int64(-1)
	all, n := scopes(p)
	ev := p.Event
	if ev != nil && ev.DailyRequestCap <= 0 {
		ev = nil
	}
	var kt keyText
	kt.grow(all[:n], true, ev, p.KeyID)
	for _, sc := range all[:n] {
		if sc.rpm > 0 {
			rl.add(scopeRPM, sc, kt.scopeKey(sc, rpmFamily), int64(sc.rpm), minute, 1)
		}
		if sc.tpm > 0 {
			if tokens < 0 {
				tokens = est()
			}
			rl.add(scopeTPM, sc, kt.scopeKey(sc, tpmFamily), int64(sc.tpm), minute, tokens)
		}
	}
	if ev != nil {
		rl.add(eventDaily, scope{}, kt.key("event:daily:", ev.ID, ":", p.KeyID), int64(ev.DailyRequestCap), day, 1)
	}
}

// keyText builds a request's limiter keys ("key:rpm:ID", "team:tpm:ID",
// "event:daily:EV:ID") in one string, one allocation for all of them: each
// key is a slice of it, never changed, so a limiter may keep it.
type keyText struct{ b strings.Builder }

// grow makes room for the keys of scopes (their tpm keys only, without
// rpm) and of ev's daily cap (ev nil for none), so that key never grows
// the string.
func (kt *keyText) grow(scopes []scope, rpm bool, ev *auth.Event, keyID string) {
	n := 0
	for _, sc := range scopes {
		if rpm && sc.rpm > 0 {
			n += len(sc.kind) + len(rpmFamily) + len(sc.id)
		}
		if sc.tpm > 0 {
			n += len(sc.kind) + len(tpmFamily) + len(sc.id)
		}
	}
	if ev != nil {
		n += len("event:daily:") + len(ev.ID) + len(":") + len(keyID)
	}
	kt.b.Grow(n)
}

// scopeKey appends sc's key of family (rpmFamily, tpmFamily), as
// scope.tpmKey names it, and returns it.
func (kt *keyText) scopeKey(sc scope, family string) string {
	return kt.key(sc.kind, family, sc.id)
}

// key appends the key made of parts and returns it.
func (kt *keyText) key(parts ...string) string {
	start := kt.b.Len()
	for _, s := range parts {
		kt.b.WriteString(s)
	}
	return kt.b.String()[start:]
}

// list fills rl with p's counted limits for request r granted g, or
// returns the refusal of a request no window could ever admit. It fills
// rl in place, as does limitsOf: a requestLimits is about 1 KiB, and
// returned by value through three frames it grew the handler goroutine's
// stack past 8 KiB, which a held stream then keeps (8 KiB of RSS each).
func list(rl *requestLimits, p *auth.Principal, r Request, g Grant) error {
	est := func() int64 {
		// What the request will be sent with: the granted cap, else what
		// it asked for.
		e := max(0, r.MaxTokens)
		if g.MaxTokens > 0 {
			e = g.MaxTokens
		}
		if r.PromptTokens != nil {
			e += r.PromptTokens.PromptTokens()
		}
		return max(e, 1)
	}
	limitsOf(rl, p, est)
	for i, l := range rl.ls[:rl.n] {
		if l.Cost > l.Limit && rl.kinds[i] == scopeTPM {
			// No window could ever admit it: say so rather than "wait".
			return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "tokens_exceed_limit",
				Message: fmt.Sprintf("this request needs about %d tokens (prompt and max_tokens), more than %s limit of %d tokens per minute; send fewer tokens or a lower max_tokens", l.Cost, rl.scopes[i].owns(), l.Limit)}
		}
	}
	return nil
}

// count takes the request from all of p's counted limits at once.
func (c *Checker) count(ctx context.Context, p *auth.Principal, r Request, g Grant) (Grant, error) {
	rl := new(requestLimits) // on the heap: see list
	if err := list(rl, p, r, g); err != nil || rl.n == 0 {
		return g, err
	}
	var out [maxLimits]limits.Decision
	ds := out[:rl.n]
	if err := limits.TakeAll(ctx, c.limiter, rl.ls[:rl.n], ds); err != nil {
		// The limiter is a Fallback: only the caller's own context ends
		// up here. Nothing was taken.
		return g, err
	}
	return c.decided(rl, ds, g)
}

// decided applies the decisions ds of taking rl's limits (all or none) to
// g: what the caller is told of its limits, and either its refusal or
// what was taken.
func (c *Checker) decided(rl *requestLimits, ds []limits.Decision, g Grant) (Grant, error) {
	ls := rl.ls[:rl.n]
	g.Limits = rateLimits(rl.kinds[:rl.n], ls, ds, c.now())
	for i, d := range ds {
		if !d.Allowed {
			return g, refusal(rl.kinds[i], rl.scopes[i], ls[i], d)
		}
	}
	// What was taken, for Release: ls itself (count's heap list, or the
	// caller's Pending, which the caller must keep until it can no
	// longer call Release).
	g.taken = ls
	for i, k := range rl.kinds[:rl.n] {
		if k == scopeTPM {
			g.Estimate = ls[i].Cost
		}
	}
	return g, nil
}

// Pending is a request's counted limits listed by Admit but not yet taken
// (Request.Pending). Take them all or none in one step, together with
// other limits if the limiter allows (limits.TakeAll on Limiter, the
// caller's limits first), then call Checker.Counted. A caller keeps it in
// its per-request state: listing allocates nothing.
type Pending struct {
	deferred bool
	limiter  limits.Limiter
	rl       requestLimits
	out      [maxLimits + pickRoom]limits.Decision
}

// Deferred reports whether Admit left limits to take: false when the
// request has none, or was counted at once.
func (pd *Pending) Deferred() bool { return pd.deferred }

// Limiter is the limiter the limits must be taken from.
func (pd *Pending) Limiter() limits.Limiter { return pd.limiter }

// Limits are the limits to take. Past its length it has room for two
// more, which the caller may use for its own limits in the same take.
func (pd *Pending) Limits() []limits.Limit { return pd.rl.ls[:pd.rl.n] }

// Decisions receive the take's outcome, one per limit, as
// limits.TakeAll writes them; with room for two more, as Limits.
func (pd *Pending) Decisions() []limits.Decision { return pd.out[:pd.rl.n] }

// listPending is Admit's end for a deferred count: the limits go into
// r.Pending, and nothing is taken.
func (c *Checker) listPending(p *auth.Principal, r Request, g Grant) (Grant, error) {
	pd := r.Pending // cleared by Admit
	if err := list(&pd.rl, p, r, g); err != nil || pd.rl.n == 0 {
		pd.rl = requestLimits{}
		return g, err
	}
	pd.deferred, pd.limiter = true, c.limiter
	return g, nil
}

// Counted finishes the admission of g, whose limits pd lists, once they
// were taken (or refused) in one step: err is that step's error, and
// pd.Decisions its outcome. It returns the grant to send the request with
// or the caller's refusal; either way g.Limits says what the caller is
// told of its limits. Nothing was taken when it refuses.
func (c *Checker) Counted(pd *Pending, g Grant, err error) (Grant, error) {
	if !pd.deferred {
		return g, nil
	}
	pd.deferred = false
	if err != nil {
		// As in count: only the caller's own context ends up here.
		return g, err
	}
	return c.decided(&pd.rl, pd.Decisions(), g)
}

// refusal is the answer to a request that limit l of kind k, of scope sc,
// refused.
func refusal(k limitKind, sc scope, l limits.Limit, d limits.Decision) error {
	switch k {
	case scopeRPM:
		return limited(fmt.Sprintf("rate limit of %d requests per minute reached for %s", l.Limit, sc.whose()), d.RetryAfter)
	case scopeTPM:
		return limited(fmt.Sprintf("rate limit of %d tokens per minute reached for %s", l.Limit, sc.whose()), d.RetryAfter)
	}
	return &apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "daily_request_cap_reached", RetryAfter: d.RetryAfter,
		Message: fmt.Sprintf("daily request cap of %d reached; resets at UTC midnight (in %s)", l.Limit, roundUp(d.RetryAfter))}
}

// Release gives back everything Admit counted for g, for a request that
// never reached an upstream (every deployment busy, say): it used nothing,
// so it must not use up the key's rate or the attendee's daily cap. Counts
// whose window has passed are left alone. Pass a context that outlives the
// client's (context.WithoutCancel): a give-back must happen even when the
// client left.
func (c *Checker) Release(ctx context.Context, g Grant) {
	now := c.now()
	var buf [maxLimits]limits.Adjustment
	as := buf[:0]
	for _, t := range g.taken {
		if limits.SameWindow(g.takenAt, now, t.Window) {
			as = append(as, limits.Adjustment{Key: t.Key, Window: t.Window, Delta: -t.Cost, At: g.takenAt})
		}
	}
	if len(as) == 0 {
		return
	}
	if err := limits.AdjustAll(ctx, c.limiter, as); err != nil {
		c.adjustFailures.Add(int64(len(as)) - 1)
		c.adjustFailed("could not give back limits", err)
	}
}

// Settle corrects the key's and its team's tpm counts by the request's
// actual tokens and adds its usage to the budget ledger. Call it once per
// admitted request, after its usage is known (tokens 0 when none was
// used). also are further corrections of counts in the checker's limiter
// (the deployment's tpm, router.TokenCorrection), made in the same call:
// one Redis round trip for all. The corrections are made even when ctx is
// cancelled; a failed one is counted (AdjustFailures).
func (c *Checker) Settle(ctx context.Context, g Grant, tokens int64, cost float64, also ...limits.Adjustment) {
	p := g.principal
	tpm := p != nil && g.Estimate > 0 && tokens != g.Estimate && limits.SameWindow(g.takenAt, c.now(), minute)
	if tpm || len(also) > 0 {
		c.correct(ctx, g, tokens, tpm, also)
	}
	if p == nil {
		return
	}
	if c.ledger != nil && hasBudget(p) {
		c.ledger.Add(p.KeyID, Spend{Tokens: tokens, Cost: cost})
	}
	if c.ledger != nil && teamHasBudget(p.Team) {
		c.ledger.AddTeam(p.Team.ID, Spend{Tokens: tokens, Cost: cost})
	}
}

// adjustments holds the corrections of one Settle while the limiter makes
// them: passed through the Limiter interface, a slice on the stack would
// escape, an allocation per request (and its caller's also another).
// Limiters do not keep the slice past AdjustAll (MultiAdjuster).
var adjustments = sync.Pool{New: func() any { return new([maxScopes + 2]limits.Adjustment) }}

// correct makes also and, with tpm, the corrections of g's tpm counts
// (taken with its estimate) by the tokens used, in one limiter call. The
// tpm keys share one string, as limitsOf's.
func (c *Checker) correct(ctx context.Context, g Grant, tokens int64, tpm bool, also []limits.Adjustment) {
	buf := adjustments.Get().(*[maxScopes + 2]limits.Adjustment)
	as := buf[:0]
	if tpm {
		// The keys again, as limitsOf named them: a Grant has no room
		// for them (it is part of the gateway's per-request state, which
		// is at the top of its size class).
		all, n := scopes(g.principal)
		var kt keyText
		kt.grow(all[:n], false, nil, "")
		for _, sc := range all[:n] {
			if sc.tpm > 0 {
				as = append(as, limits.Adjustment{Key: kt.scopeKey(sc, tpmFamily), Window: minute, Delta: tokens - g.Estimate, At: g.takenAt})
			}
		}
	}
	c.adjust(ctx, append(as, also...))
	*buf = [maxScopes + 2]limits.Adjustment{}
	adjustments.Put(buf)
}

// adjust makes the corrections as in one limiter call, whatever ctx's
// state; a failure counts once per correction.
func (c *Checker) adjust(ctx context.Context, as []limits.Adjustment) {
	if len(as) == 0 {
		return
	}
	if ctx.Done() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if err := limits.AdjustAll(ctx, c.limiter, as); err != nil {
		c.adjustFailures.Add(int64(len(as)) - 1)
		c.adjustFailed("could not correct tpm counts", err)
	}
}

// Limiter is the limiter the checker counts in, for corrections made
// with its own (Settle's also).
func (c *Checker) Limiter() limits.Limiter { return c.limiter }

// adjustFailed counts and logs a give-back or correction the limiter
// refused; the count stays off by its amount until the window ends.
func (c *Checker) adjustFailed(msg string, err error) {
	c.adjustFailures.Add(1)
	c.log.Warn(msg, "err", err)
}

// AdjustFailures is how many give-backs and corrections of counted limits
// failed since start, for spillway_limit_adjust_failures_total.
func (c *Checker) AdjustFailures() int64 { return c.adjustFailures.Load() }

// RateLimits is what a caller is told of its counted limits, in OpenAI's
// x-ratelimit-* headers: the tightest limit on requests and the tightest
// on tokens, each as of this request.
type RateLimits struct {
	Requests, Tokens Quota
}

// Quota is one limit as a caller sees it. A zero Limit means none.
type Quota struct {
	Limit     int64
	Remaining int64
	// Reset is how long until the limit's window starts again from zero.
	Reset time.Duration
}

// rateLimits picks, of each family, the limit with the fewest units left
// (the sooner reset on a tie).
func rateLimits(kinds []limitKind, ls []limits.Limit, ds []limits.Decision, now time.Time) RateLimits {
	var rl RateLimits
	for i, k := range kinds {
		q := Quota{Limit: ls[i].Limit, Remaining: ds[i].Remaining, Reset: limits.UntilReset(now, ls[i].Window)}
		dst := &rl.Requests
		if k.tokens() {
			dst = &rl.Tokens
		}
		if dst.Limit == 0 || q.Remaining < dst.Remaining || (q.Remaining == dst.Remaining && q.Reset < dst.Reset) {
			*dst = q
		}
	}
	return rl
}

// WriteHeaders sets OpenAI's x-ratelimit-* headers on h for each family
// that has a limit; a family without one is left out. The values are
// formatted into one buffer on the stack and share one string, and one
// backing array holds the six values: two allocations for all six.
func (rl RateLimits) WriteHeaders(h http.Header) {
	if !rl.Any() {
		return
	}
	// Two families of a limit and a remaining count (20 bytes at most
	// each) and a reset ("2562047h47m16.854s" at most): 128 bytes fit them.
	var buf [128]byte
	var ends [6]int
	b, n := buf[:0], 0
	for _, q := range [2]Quota{rl.Requests, rl.Tokens} {
		if q.Limit == 0 {
			continue
		}
		b = strconv.AppendInt(b, q.Limit, 10)
		ends[n] = len(b)
		b = strconv.AppendInt(b, q.Remaining, 10)
		ends[n+1] = len(b)
		b = appendReset(b, q.Reset)
		ends[n+2] = len(b)
		n += 3
	}
	text := string(b)
	vals := make([]string, n)
	for i, start := 0, 0; i < n; i++ {
		vals[i] = text[start:ends[i]]
		start = ends[i]
	}
	names := rateHeaders[:]
	if rl.Requests.Limit == 0 {
		names = rateHeaders[3:]
	}
	for i := range n {
		h[names[i]] = vals[i : i+1 : i+1]
	}
}

// rateHeaders are the x-ratelimit-* headers, the requests family's three,
// then the tokens family's, in the order WriteHeaders formats them.
var rateHeaders = [6]string{
	"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
	"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens",
}

// Any reports whether rl has a limit to show.
func (rl RateLimits) Any() bool { return rl.Requests.Limit > 0 || rl.Tokens.Limit > 0 }

// appendReset appends d as OpenAI's reset headers say it ("1s", "6m0s",
// "20ms"): d.Round(time.Millisecond).String(), without the String's
// allocation.
func appendReset(b []byte, d time.Duration) []byte {
	d = d.Round(time.Millisecond)
	switch {
	case d < 0 || d%time.Millisecond != 0:
		// Never a reset (negative, or so long Round saturated): said as
		// String says it.
		return append(b, d.String()...)
	case d == 0:
		return append(b, "0s"...)
	case d < time.Second:
		b = strconv.AppendInt(b, int64(d/time.Millisecond), 10)
		return append(b, "ms"...)
	}
	if d >= time.Hour {
		b = strconv.AppendInt(b, int64(d/time.Hour), 10)
		b = append(b, 'h')
	}
	if d >= time.Minute {
		b = strconv.AppendInt(b, int64(d/time.Minute%60), 10)
		b = append(b, 'm')
	}
	b = strconv.AppendInt(b, int64(d/time.Second%60), 10)
	if ms := int64(d % time.Second / time.Millisecond); ms > 0 {
		// Three digits, the trailing zeros dropped: "1.5s", "1.05s".
		digits := [3]byte{byte('0' + ms/100), byte('0' + ms/10%10), byte('0' + ms%10)}
		k := 3
		for digits[k-1] == '0' {
			k--
		}
		b = append(b, '.')
		b = append(b, digits[:k]...)
	}
	return append(b, 's')
}
