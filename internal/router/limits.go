package router

import (
	"context"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// A deployment's rpm and tpm are counted before a request is sent to it.
// One that is at its limit is skipped exactly like a cooling one: the pick
// moves on to the next deployment of the tier, then to the next tier, and
// when nothing is left the client is told when the soonest one frees up.
// The limiter answers how long until the window resets; the deployment is
// marked full until then, so later picks on this replica skip it without
// asking the limiter again.

// fullUntil returns when the deployment stops being at its limit, if that
// is after now.
func (d *Deployment) fullUntil(now time.Time) (time.Time, bool) {
	n := d.full.Load()
	if n == 0 || now.UnixNano() >= n {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// limited reports whether the deployment has rpm or tpm limits to count.
func (d *Deployment) limited() bool { return d.Config.RPM > 0 || d.Config.TPM > 0 }

// limitVerdict is the outcome of counting one pick against its limits.
type limitVerdict int

const (
	limitTaken        limitVerdict = iota // counted; send the request
	limitFull                             // at its limit until the deployment's full deadline
	limitTooLarge                         // the request alone exceeds the tpm limit
	limitRiderRefused                     // the rider's limits refused it (rider.go)
)

// take counts a request of demand tokens against d's rpm and tpm, both in
// one limiter call (one Redis round trip), both or neither; with a pending
// rider, the rider's limits are in the same call, first (rider.go). A
// limiter failure other than the caller's own cancellation lets the
// request through: the Fallback limiter already degrades to local counts,
// so this is only defence. A failure taking a rider refuses it (its Err).
//
// When full, it also returns when the request could fit: the window's end.
func (p *Pool) take(ctx context.Context, d *Deployment, now time.Time, demand int64, rider *Rider) (limitVerdict, time.Time) {
	rpm, tpm := int64(d.Config.RPM), int64(d.Config.TPM)
	own := p.limiter != nil && d.limited()
	demand = max(demand, 1)
	if own && tpm > 0 && demand > tpm {
		return limitTooLarge, time.Time{}
	}
	var ls []limits.Limit
	var out []limits.Decision
	if rider != nil {
		if !own || rider.Limiter != p.limiter {
			// Nothing to share a call with: the rider goes alone.
			if rider.TakeAlone(ctx); rider.Refused() {
				return limitRiderRefused, time.Time{}
			}
			rider = nil
		} else {
			// The deployment's limits go after the rider's, in the room
			// the rider leaves for them (see Rider).
			ls, out = rider.Limits, rider.Out
		}
	}
	if !own {
		return limitTaken, time.Time{}
	}
	if need := len(ls) + 2; cap(ls) < need || cap(out) < need {
		if need <= maxStackLimits {
			b := new(takeBuf) // one allocation for both
			ls, out = append(b.ls[:0], ls...), b.out[:0]
		} else {
			ls, out = append(make([]limits.Limit, 0, need), ls...), make([]limits.Decision, 0, need)
		}
	}
	k := len(ls) // the deployment's limits start here
	rpmAt := -1  // its rpm's index among them
	if rpm > 0 {
		rpmAt = 0
		ls = append(ls, limits.Limit{Key: d.rpmKey, Limit: rpm, Window: time.Minute, Cost: 1})
	}
	if tpm > 0 {
		ls = append(ls, limits.Limit{Key: d.tpmKey, Limit: tpm, Window: time.Minute, Cost: demand})
	}
	out = out[:len(ls)]
	err := limits.TakeAll(ctx, p.limiter, ls, out)
	if rider != nil {
		copy(rider.Out, out[:k]) // a no-op when out is the rider's
		if err != nil || !limits.AllAllowed(out[:k]) {
			rider.settle(err)
			if err == nil {
				p.noteFull(d, out[k:], now, rpmAt)
			}
			return limitRiderRefused, time.Time{}
		}
	}
	if err != nil {
		return limitTaken, time.Time{}
	}
	if back, full := p.noteFull(d, out[k:], now, rpmAt); full {
		return limitFull, back
	}
	if rider != nil {
		rider.settle(nil)
	}
	return limitTaken, time.Time{}
}

// noteFull reads d's own decisions ds (its rpm's at index rpmAt, -1
// without one): when one refused, it returns when the request
// could fit, and marks d full if nothing can fit before then.
func (p *Pool) noteFull(d *Deployment, ds []limits.Decision, now time.Time, rpmAt int) (time.Time, bool) {
	for i, dec := range ds {
		if dec.Allowed {
			continue
		}
		back := now.Add(dec.RetryAfter)
		// A full rpm, or a tpm with nothing left, refuses everything until
		// the window ends; a tpm with some left may still fit a smaller
		// request, so only this one is refused.
		if i == rpmAt || dec.Remaining == 0 {
			d.markFull(back)
		}
		return back, true
	}
	return time.Time{}, false
}

func (d *Deployment) markFull(until time.Time) {
	for {
		cur := d.full.Load()
		if cur >= until.UnixNano() || d.full.CompareAndSwap(cur, until.UnixNano()) {
			return
		}
	}
}

// SettleTokens corrects the tpm count of the deployment of p, the attempt
// that answered, by the tokens it actually used: the pick counted its
// demand before sending. Once the pick's minute is over the correction is
// dropped: the current window never counted that demand. A pick that was
// charged nothing (no tpm limit, no limiter, or the zero Pick) is left
// alone.
func (r *Router) SettleTokens(p Pick, used int64) {
	if a, ok := r.TokenCorrection(p, used); ok {
		if err := limits.AdjustAll(context.Background(), r.opts.Limiter, []limits.Adjustment{a}); err != nil {
			r.adjustFailures.Add(1)
		}
	}
}

// TokenCorrection is SettleTokens' correction, not made: the caller makes
// it in one limiter call with others (limits.AdjustAll on Limiter) and
// counts a failure. ok is false when there is nothing to correct.
func (r *Router) TokenCorrection(p Pick, used int64) (a limits.Adjustment, ok bool) {
	if !p.ChargedTokens() || used == p.demand || !limits.SameWindow(p.pickedAt, r.opts.Now(), time.Minute) {
		return a, false
	}
	return limits.Adjustment{Key: p.tpmKey, Window: time.Minute, Delta: used - p.demand, At: p.pickedAt}, true
}

// Limiter is the limiter deployments' rpm and tpm are counted in, nil
// for none.
func (r *Router) Limiter() limits.Limiter { return r.opts.Limiter }

// adjust corrects a deployment's tpm count by delta. A failure is counted
// (AdjustFailures): the count stays off by delta until the window ends.
func (r *Router) adjust(key string, delta int64) {
	if err := r.opts.Limiter.Adjust(context.Background(), key, time.Minute, delta); err != nil {
		r.adjustFailures.Add(1)
	}
}

// AdjustFailures is how many corrections and give-backs of deployments'
// tpm counts the limiter refused since start.
func (r *Router) AdjustFailures() int64 { return r.adjustFailures.Load() }

// ChargedTokens reports whether the pick was charged tokens against its
// deployment's tpm limit, so its actual usage must be settled.
func (p Pick) ChargedTokens() bool { return p.Deployment != nil && p.demand > 0 }
