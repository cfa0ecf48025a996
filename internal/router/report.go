package router

import (
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// Report applies the outcome of an attempt on p to the deployment's state.
// With classify.go, this is the whole story of what an upstream answer does
// to routing:
//
//   - Success, CallerError, ContextTooLong: the deployment works; its
//     circuit closes and successful latency feeds the EWMA.
//   - RateLimited (429): skipped until the Retry-After family of headers says
//     (or the configured cooldown). A throttle is not a fault, so the
//     circuit is untouched.
//   - QuotaExhausted, DeploymentGone: skipped for the outcome's long cooldown.
//   - AuthFailed (upstream 401/403): skipped for the cooldown and counted as
//     a failure: a wrong key will not fix itself.
//   - TooLarge: nothing; the request, not the deployment, is the problem.
//   - Transient (5xx, transport error, timeout): counted as a failure;
//     enough in a row open the circuit.
//   - ClientGone: nothing; the client left, the deployment is not to blame.
//   - Unsupported: nothing; the deployment cannot serve the operation.
//
// Whether to try another deployment is the caller's single decision, made
// from Verdict.Retryable.
func (r *Router) Report(p Pick, o Outcome, latency time.Duration) {
	d := p.Deployment
	d.inflight.Add(-1)
	now := r.opts.Now()
	if p.demand > 0 && o.Verdict != Success && o.Verdict != CallerError && o.Verdict != ContextTooLong && o.Verdict != ClientGone && limits.SameWindow(p.pickedAt, now, time.Minute) {
		// The upstream processed nothing: give the tokens back.
		r.adjust(d.tpmKey, -p.demand)
	}
	switch o.Verdict {
	case Success, CallerError, ContextTooLong:
		d.circuit.success()
		if o.Verdict == Success {
			d.observeLatency(latency)
		}
	case RateLimited, QuotaExhausted, DeploymentGone:
		d.circuit.release(p.probe)
		r.coolDown(d, now, o)
	case AuthFailed:
		r.coolDown(d, now, o)
		r.fail(d, now, o)
	case Transient:
		r.fail(d, now, o)
	default: // TooLarge, ClientGone, Unsupported
		d.circuit.release(p.probe)
	}
}

func (r *Router) coolDown(d *Deployment, now time.Time, o Outcome) {
	wait := o.Cooldown
	if wait <= 0 {
		wait = r.opts.Cooldown
	}
	until := now.Add(wait)
	if d.extendCooldown(until, o.Reason, o.Verdict) && r.opts.OnCooldown != nil {
		r.opts.OnCooldown(d.Config.ID, until, o)
	}
}

// ApplyCooldown cools deployment id until the given time for reason, as
// if it had answered 429 here: another replica saw it (shared cooldowns).
// A later deadline already set is kept, and OnCooldown is not called, so
// a cooldown learned from a replica is never echoed back. It reports
// whether the deadline moved.
func (r *Router) ApplyCooldown(id string, until time.Time, reason string) bool {
	d, ok := r.table.Load().byID[id]
	return ok && d.extendCooldown(until, reason, RateLimited)
}

func (r *Router) fail(d *Deployment, now time.Time, o Outcome) {
	d.failures.Add(1)
	reason := o.Reason
	d.lastErr.Store(&reason)
	d.circuit.failure(now, r.opts.FailureThreshold, r.opts.CircuitOpen)
}

// SlowThreshold is how long d may keep a request waiting for its headers
// before an attempt the client abandons is its fault: SlowFactor times its
// recent time to first byte, never less than SlowThreshold.
func (r *Router) SlowThreshold(d *Deployment) time.Duration {
	return max(r.opts.SlowThreshold, time.Duration(r.opts.SlowFactor*float64(d.Latency())))
}

// Abandoned is the outcome to report for an attempt the client left
// (verdict ClientGone) after waiting waited for the upstream's headers: a
// client that gives up is no fault of the deployment's, unless the
// deployment had already kept it waiting past its slow threshold. Then it
// is a failure, so a deployment that hangs is taken out of rotation even
// when every client gives up before the first-byte timeout.
func (r *Router) Abandoned(p Pick, o Outcome, waited time.Duration) Outcome {
	if o.Verdict != ClientGone || waited <= 0 {
		return o
	}
	if limit := r.SlowThreshold(p.Deployment); waited >= limit {
		return Outcome{Verdict: Transient, Reason: "no answer within " + limit.Round(time.Millisecond).String() + "; the client gave up first"}
	}
	return o
}
