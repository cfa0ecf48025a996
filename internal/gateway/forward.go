package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/router"
)

// result is what was sent to the client, for the log and usage records.
type result struct {
	status     int
	deployment string
	// pick is the attempt that answered, whose tpm charge is settled by
	// the actual usage.
	pick     router.Pick
	attempts int
	ttfb     time.Duration
	// meter saw the answer's body; priceModel prices it.
	meter      *meter
	priceModel string
}

var (
	// errAbort means a response was under way when the upstream failed: the
	// client connection must be aborted, never closed as if complete.
	errAbort = errors.New("response aborted after it started")
	// errClientGone means the client went away; nothing more is written.
	errClientGone = errors.New("client closed the request")
)

// forward runs the attempt loop. It is the single place that decides
// whether to try again: a verdict that is not Retryable sends the upstream's
// answer to the client; a retryable one moves on to the next deployment
// (best priority first), up to g.retries further attempts per model, then
// to the model's fallbacks. Once a byte of an answer reached the client,
// nothing is retried.
func (g *Gateway) forward(req *exchange) error {
	if req.sticky != "" {
		return g.forwardSticky(req)
	}
	r, res := req.r, &req.res
	var (
		queue     = []string{req.model}
		fellBack  bool // the model list has been extended with fallbacks
		ctxFellBk bool // the context-window fallback has been used
		tried     []*router.Deployment
		pools     []*router.Pool
		last      router.Outcome
		lastErr   error
		throttled = true // every failure so far was a throttle
		tooLarge  bool   // a pool refused the request as above every tpm limit
	)
	for len(queue) > 0 {
		model := queue[0]
		queue = queue[1:]
		pool, err := g.router.Pool(model, req.op.Class())
		if err != nil {
			if res.attempts == 0 && len(pools) == 0 {
				return routerError(err)
			}
			continue
		}
		pools = append(pools, pool)
		if !fellBack {
			queue = append(queue, g.router.Fallbacks(model)...)
			fellBack = true
		}
		tried = tried[:0]
		var demand int64
		if pool.CountsTokens() {
			demand = req.demand()
		}
		for n := 0; n <= g.retries; n++ {
			pick, err := pool.PickFor(r.Context(), g.router.Now(), tried, demand)
			if err != nil {
				var u *router.UnavailableError
				tooLarge = tooLarge || (errors.As(err, &u) && u.TooLarge)
				break
			}
			tried = append(tried, pick.Deployment)
			res.attempts++
			up, o := g.attempt(req, pick)
			switch {
			case o.Verdict == router.ClientGone:
				g.router.Report(pick, o, 0)
				up.close()
				return errClientGone
			case o.Verdict == router.ContextTooLong && !ctxFellBk && g.router.ContextWindowFallback(model) != "":
				g.router.Report(pick, o, up.latency)
				up.close()
				queue = []string{g.router.ContextWindowFallback(model)}
				ctxFellBk = true
			case !o.Verdict.Retryable():
				return g.respond(req, pick, up, o)
			default:
				g.router.Report(pick, o, up.latency)
				up.close()
				last, lastErr = o, up.err
				if o.Verdict != router.RateLimited && o.Verdict != router.QuotaExhausted {
					throttled = false
				}
				continue
			}
			break
		}
	}
	req.w.Header().Set("X-Spillway-Attempts", strconv.Itoa(res.attempts))
	if tooLarge && res.attempts == 0 {
		last = router.Outcome{Verdict: router.TooLarge}
	}
	return g.exhausted(req, pools, res.attempts, last, lastErr, throttled)
}

// exhausted builds the answer when no deployment answered: 429 with the
// soonest recovery when everything is cooling down, else 502/504 naming the
// last failure.
func (g *Gateway) exhausted(req *exchange, pools []*router.Pool, attempts int, last router.Outcome, lastErr error, throttled bool) error {
	now := g.router.Now()
	var retryAt time.Time
	for _, p := range pools {
		if t := p.RetryAt(now); !t.IsZero() && (retryAt.IsZero() || t.Before(retryAt)) {
			retryAt = t
		}
	}
	wait := retryAt.Sub(now)
	if throttled && !retryAt.IsZero() {
		msg := fmt.Sprintf("every deployment of %q is rate limited; retry after %ds", req.model, apierror.RetryAfterSeconds(wait))
		if attempts > 0 {
			msg = fmt.Sprintf("every deployment of %q is rate limited (%d attempts, last: %s); retry after %ds", req.model, attempts, last.Reason, apierror.RetryAfterSeconds(wait))
		}
		return &apierror.Error{Status: http.StatusTooManyRequests, Message: msg, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: wait}
	}
	if last.Verdict == router.TooLarge {
		return &apierror.Error{Status: http.StatusTooManyRequests, Message: "request too large for the tokens-per-minute limit of every deployment of " + strconv.Quote(req.model) + "; send fewer tokens or a lower max_tokens", Type: apierror.TypeRateLimit, Code: "tokens_exceed_limit"}
	}
	if attempts == 0 {
		return &apierror.Error{Status: http.StatusServiceUnavailable, Message: fmt.Sprintf("no deployment of %q is available right now (all circuit-open or unavailable); retry later", req.model), Type: apierror.TypeUpstream, Code: "no_deployment_available", RetryAfter: wait}
	}
	e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeUpstream, Code: "upstream_error", RetryAfter: wait}
	if isTimeout(lastErr) {
		e.Status, e.Code = http.StatusGatewayTimeout, "upstream_timeout"
	}
	e.Message = fmt.Sprintf("no deployment of %q answered (%d attempts); last: %s", req.model, attempts, last.Reason)
	return e
}

func isTimeout(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errIdleTimeout) || isNetTimeout(err))
}

func isNetTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// routerError maps the router's lookup errors to client answers.
func routerError(err error) error {
	var unknown *router.UnknownModelError
	var inactive *router.NoActiveError
	switch {
	case errors.As(err, &unknown):
		return &apierror.Error{Status: http.StatusNotFound, Message: unknown.Error(), Type: apierror.TypeInvalidRequest, Param: "model", Code: "model_not_found"}
	case errors.As(err, &inactive):
		return &apierror.Error{Status: http.StatusServiceUnavailable, Message: inactive.Error() + "; ask the operator to activate one", Type: apierror.TypeUpstream, Param: "model", Code: "no_active_deployment"}
	}
	return err
}
