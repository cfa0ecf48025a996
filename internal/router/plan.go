package router

import (
	"context"
	"time"
)

// Plan is one request's way through the deployments: its model's pools
// and then its fallbacks', who was tried, and what went wrong. The attempt
// loop asks it for the next pick, tells it each failure, and when it has
// nothing left asks it what the client should be told. The whole story of
// "what happens on a 429, on an outage, on a rejected key" is here and in
// Report; the gateway only renders the answer.
type Plan struct {
	r       *Router
	class   string
	retries int // further attempts per model after the first

	queue    []string // models still to try, current first
	fellBack bool     // the model's fallbacks are queued
	ctxUsed  bool     // the context-window fallback was taken
	pool     *Pool    // the current model's, nil until looked up
	perModel int      // attempts on the current model
	tried    []*Deployment
	pools    []*Pool

	attempts int
	// failed counts the attempts by what went wrong.
	throttled, authFailed, other int
	last                         Outcome
	tooLarge                     bool
	// rider is the caller's limits, taken with the first pick (rider.go).
	rider *Rider

	// The usual request fits in these; longer lists grow on the heap.
	queueBuf [4]string
	triedBuf [4]*Deployment
	poolsBuf [2]*Pool
}

// Plan starts a request's plan for model and class; retries is how many
// further deployments are tried after the first, per model. It fails as
// Pool does when nothing serves the model.
func (r *Router) Plan(model, class string, retries int) (*Plan, error) {
	p := new(Plan)
	return p, r.StartPlan(p, model, class, retries)
}

// StartPlan is Plan into p, which the caller keeps (in its per-request
// state: no allocation). p must not be copied afterwards.
func (r *Router) StartPlan(p *Plan, model, class string, retries int) error {
	pool, err := r.Pool(model, class)
	if err != nil {
		return err
	}
	*p = Plan{r: r, class: class, retries: max(retries, 0), pool: pool}
	p.queue = append(p.queueBuf[:0], model)
	p.tried, p.pools = p.triedBuf[:0], p.poolsBuf[:0]
	return nil
}

// Model is the model the next pick serves: the request's, or a fallback.
func (p *Plan) Model() string { return p.queue[0] }

// Attempts is how many picks were made.
func (p *Plan) Attempts() int { return p.attempts }

// Next picks the deployment for the next attempt, moving on to the
// fallbacks when the current model has nothing left; demand, called only
// when a pool counts tokens, is what the request is expected to take from
// a tpm limit. It reports false when nothing is left, or when the plan's
// rider was refused (Rider.Refused): the caller is then refused.
func (p *Plan) Next(ctx context.Context, demand func() int64) (Pick, bool) {
	for len(p.queue) > 0 {
		if p.pool == nil {
			pool, err := p.r.Pool(p.queue[0], p.class)
			if err != nil {
				p.queue = p.queue[1:]
				continue
			}
			p.pool, p.perModel, p.tried = pool, 0, p.tried[:0]
		}
		if !p.fellBack {
			p.queue = append(p.queue, p.r.Fallbacks(p.queue[0])...)
			p.fellBack = true
		}
		if !containsPool(p.pools, p.pool) {
			p.pools = append(p.pools, p.pool)
		}
		if p.perModel <= p.retries {
			var want int64
			if p.pool.CountsTokens() && demand != nil {
				want = demand()
			}
			pick, err := p.pool.pickFor(ctx, p.r.Now(), p.tried, want, p.pendingRider())
			if err == errRiderRefused {
				return Pick{}, false
			}
			if err == nil {
				p.tried = append(p.tried, pick.Deployment)
				p.perModel++
				p.attempts++
				return pick, true
			}
			if u, ok := err.(*UnavailableError); ok && u.TooLarge {
				p.tooLarge = true
			}
		}
		p.queue, p.pool = p.queue[1:], nil
	}
	return Pick{}, false
}

// Delivers reports whether outcome o of an attempt goes to the client:
// everything but a retryable failure, and a context overflow when the
// model has a context-window fallback not yet taken.
func (p *Plan) Delivers(o Outcome) bool {
	if o.Verdict == ContextTooLong {
		return p.ctxUsed || p.r.ContextWindowFallback(p.Model()) == ""
	}
	return !o.Verdict.Retryable()
}

// Failed reports a failed attempt that the client will not see (one that
// Delivers refused) to the router, and counts it for Exhausted. A context
// overflow moves the plan to the model's context-window fallback.
func (p *Plan) Failed(pick Pick, o Outcome, latency time.Duration) {
	p.r.Report(pick, o, latency)
	if o.Verdict == ContextTooLong {
		p.ctxUsed = true
		p.queue, p.pool, p.fellBack = []string{p.r.ContextWindowFallback(p.Model())}, nil, true
		return
	}
	p.last = o
	switch o.Verdict {
	case RateLimited, QuotaExhausted:
		p.throttled++
	case AuthFailed:
		p.authFailed++
	case Unsupported:
	default:
		p.other++
	}
}

// Exhaustion is why a plan ran out, and so what the client is told.
type Exhaustion struct {
	Kind Exhausted
	// RetryAfter is when trying again may help: the soonest throttle ends
	// (Throttled), the soonest circuit probe or cooldown end (Unavailable);
	// zero when unknown.
	RetryAfter time.Duration
	Attempts   int
	// Last is the last failed attempt's outcome.
	Last Outcome
}

// Exhausted is a kind of running out.
type Exhausted uint8

const (
	// Throttled: every deployment is rate limited or at its rpm/tpm, and
	// every attempt was throttled: waiting helps (429).
	Throttled Exhausted = iota + 1
	// TooLargeForLimits: the request alone is above every deployment's
	// tpm limit (429 that says to send less).
	TooLargeForLimits
	// Unavailable: no attempt was made, or none could be; circuits are
	// open, upstreams down (503).
	Unavailable
	// CredentialsRejected: the upstream refused the gateway's own key
	// (502 naming that cause).
	CredentialsRejected
	// Failed: attempts were made and failed (502, or 504 on a timeout).
	Failed
)

// Exhausted says why nothing is left. Throttled only when waiting will
// help: every failed attempt a throttle, and every deployment of every
// pool tried throttled or at its limits. An outage is never a throttle.
func (p *Plan) Exhausted() Exhaustion {
	now := p.r.Now()
	e := Exhaustion{Attempts: p.attempts, Last: p.last}
	var soonest, soonestThrottle time.Time
	allThrottled, anyAuth := true, false
	for _, pool := range p.pools {
		for _, t := range pool.tiers {
			for _, d := range t.deployments {
				why, until := d.unavailable(now)
				switch why {
				case availableNow:
					allThrottled = false
					continue
				case throttledNow:
					if !until.IsZero() && (soonestThrottle.IsZero() || until.Before(soonestThrottle)) {
						soonestThrottle = until
					}
				case authRejected:
					anyAuth = true
					allThrottled = false
				default:
					allThrottled = false
				}
				if !until.IsZero() && (soonest.IsZero() || until.Before(soonest)) {
					soonest = until
				}
			}
		}
	}
	switch {
	case p.tooLarge && p.attempts == 0:
		e.Kind = TooLargeForLimits
	case p.authFailed > 0 && p.other == 0 && p.throttled == 0, p.attempts == 0 && anyAuth && !allThrottled:
		e.Kind = CredentialsRejected
	case allThrottled && p.other == 0 && p.authFailed == 0 && !soonestThrottle.IsZero():
		e.Kind, e.RetryAfter = Throttled, soonestThrottle.Sub(now)
	case p.attempts == 0 || p.other == 0 && p.authFailed == 0:
		e.Kind = Unavailable
		if !soonest.IsZero() {
			e.RetryAfter = soonest.Sub(now)
		}
	default:
		e.Kind = Failed
		if !soonest.IsZero() {
			e.RetryAfter = soonest.Sub(now)
		}
	}
	return e
}

func containsPool(ps []*Pool, p *Pool) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// unavailability is why a deployment takes no traffic now.
type unavailability uint8

const (
	availableNow unavailability = iota
	// throttledNow: cooling after a 429 or quota answer, or at its own
	// rpm/tpm limit: it comes back by itself.
	throttledNow
	// authRejected: cooling after the upstream refused the gateway's key.
	authRejected
	// downNow: circuit open, or cooling because the deployment is gone.
	downNow
)

// unavailable says why d takes no traffic at now, and until when.
func (d *Deployment) unavailable(now time.Time) (unavailability, time.Time) {
	if ok, _ := d.available(now); ok {
		return availableNow, time.Time{}
	}
	if ok, open := d.circuit.allows(now); !ok {
		return downNow, open
	}
	if c := d.cooldown.Load(); c != nil && now.Before(c.until) {
		switch c.verdict {
		case AuthFailed:
			return authRejected, c.until
		case DeploymentGone:
			return downNow, c.until
		}
		return throttledNow, c.until
	}
	if full, isFull := d.fullUntil(now); isFull {
		return throttledNow, full
	}
	// Half-open with its probe taken: back when the probe answers.
	return downNow, time.Time{}
}
