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
	"github.com/spillwayhq/spillway/internal/provider"
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

// forward runs the attempt loop over the request's plan (router.Plan),
// which picks deployments, best priority first, then the model's
// fallbacks, and says what the client is told when nothing is left. The
// one decision made here is Plan.Delivers: an answer the client gets, or a
// failure to try past. Once a byte of an answer reached the client,
// nothing is retried.
func (g *Gateway) forward(req *exchange) error {
	if req.sticky != "" {
		return g.forwardSticky(req)
	}
	plan := &req.plan
	if err := g.router.StartPlan(plan, req.model, req.op.Class(), g.retries); err != nil {
		return routerError(err)
	}
	g.carry(req)
	var lastErr error
	for {
		pick, ok := plan.Next(req.r.Context(), req.demand)
		if err := g.counted(req); err != nil {
			// The caller's own limits refused it: nothing was taken.
			return err
		}
		if !ok {
			break
		}
		req.res.attempts = plan.Attempts()
		up, o := g.attempt(req, pick)
		if err := req.uploadFailure(); err != nil {
			// The client's body was bad, not the deployment.
			g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
			up.close()
			return err
		}
		switch {
		case o.Verdict == router.ClientGone:
			g.router.Report(pick, g.router.Abandoned(pick, o, up.waited), 0)
			up.close()
			return errClientGone
		case plan.Delivers(o):
			return g.respond(req, pick, up, o)
		}
		plan.Failed(pick, o, up.latency)
		lastErr = up.err
		up.close()
		if req.spec.Body == provider.BodyStream {
			break // the body went with the attempt
		}
	}
	req.w.Header().Set("X-Spillway-Attempts", strconv.Itoa(plan.Attempts()))
	return g.exhausted(req, plan.Exhausted(), lastErr)
}

// exhausted renders why nothing answered (DESIGN.md routing rules 6 and
// 11): 429 only when waiting helps, 503 for an outage (open circuits,
// down upstreams), 502 when the upstream refuses the gateway's own key,
// and 502/504 naming the last failure.
func (g *Gateway) exhausted(req *exchange, e router.Exhaustion, lastErr error) error {
	wait := e.RetryAfter
	switch e.Kind {
	case router.Throttled:
		msg := fmt.Sprintf("every deployment of %q is rate limited; retry after %ds", req.model, apierror.RetryAfterSeconds(wait))
		if e.Attempts > 0 {
			msg = fmt.Sprintf("every deployment of %q is rate limited (%d attempts, last: %s); retry after %ds", req.model, e.Attempts, e.Last.Reason, apierror.RetryAfterSeconds(wait))
		}
		return &apierror.Error{Status: http.StatusTooManyRequests, Message: msg, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: wait}
	case router.TooLargeForLimits:
		return &apierror.Error{Status: http.StatusTooManyRequests, Message: "request too large for the tokens-per-minute limit of every deployment of " + strconv.Quote(req.model) + "; send fewer tokens or a lower max_tokens", Type: apierror.TypeRateLimit, Code: "tokens_exceed_limit"}
	case router.CredentialsRejected:
		msg := fmt.Sprintf("the upstream of %q rejected the gateway's own credentials; the operator must fix the deployment's key or identity", req.model)
		if e.Attempts > 0 {
			msg = fmt.Sprintf("the upstream of %q rejected the gateway's own credentials (%s); the operator must fix the deployment's key or identity", req.model, e.Last.Reason)
		}
		return &apierror.Error{Status: http.StatusBadGateway, Message: msg, Type: apierror.TypeUpstream, Code: "upstream_auth_failed"}
	case router.Unavailable:
		msg := fmt.Sprintf("no deployment of %q is available right now (circuits open or upstreams down); retry later", req.model)
		if e.Attempts > 0 {
			msg = fmt.Sprintf("no deployment of %q could take the request (%d attempts, last: %s); retry later", req.model, e.Attempts, e.Last.Reason)
		}
		return &apierror.Error{Status: http.StatusServiceUnavailable, Message: msg, Type: apierror.TypeUpstream, Code: "no_deployment_available", RetryAfter: wait}
	}
	err := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeUpstream, Code: "upstream_error", RetryAfter: wait}
	if isTimeout(lastErr) {
		err.Status, err.Code = http.StatusGatewayTimeout, "upstream_timeout"
	}
	err.Message = fmt.Sprintf("no deployment of %q answered (%d attempts); last: %s", req.model, e.Attempts, e.Last.Reason)
	return err
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
