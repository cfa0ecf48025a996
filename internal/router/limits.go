package router

import (
	"context"
	"errors"
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
	limitTaken    limitVerdict = iota // counted; send the request
	limitFull                         // at its limit until the deployment's full deadline
	limitTooLarge                     // the request alone exceeds the tpm limit
)

// take counts a request of demand tokens against d's rpm and tpm. When the
// tpm refuses, the rpm taken is given back. A limiter failure other than
// the caller's own cancellation lets the request through: the Fallback
// limiter already degrades to local counts, so this is only defence.
//
// When full, it also returns when the request could fit: the window's end.
func (p *Pool) take(ctx context.Context, d *Deployment, now time.Time, demand int64) (limitVerdict, time.Time) {
	rpm, tpm := int64(d.Config.RPM), int64(d.Config.TPM)
	if rpm > 0 {
		dec, err := p.limiter.Take(ctx, d.rpmKey, rpm, time.Minute, 1)
		if err == nil && !dec.Allowed {
			d.markFull(now.Add(dec.RetryAfter))
			return limitFull, now.Add(dec.RetryAfter)
		}
	}
	if tpm > 0 {
		dec, err := p.limiter.Take(ctx, d.tpmKey, tpm, time.Minute, max(demand, 1))
		switch {
		case errors.Is(err, limits.ErrCostExceedsLimit):
			p.giveBack(d, rpm, 0)
			return limitTooLarge, time.Time{}
		case err == nil && !dec.Allowed:
			p.giveBack(d, rpm, 0)
			if dec.Remaining == 0 {
				// Nothing at all fits until the window ends. Otherwise a
				// smaller request still may, so only this one is refused.
				d.markFull(now.Add(dec.RetryAfter))
			}
			return limitFull, now.Add(dec.RetryAfter)
		}
	}
	return limitTaken, time.Time{}
}

// giveBack returns one request of rpm and tokens of tpm to d's counts.
func (p *Pool) giveBack(d *Deployment, rpm, tokens int64) {
	ctx := context.Background()
	if rpm > 0 {
		_ = p.limiter.Adjust(ctx, d.rpmKey, time.Minute, -1)
	}
	if tokens != 0 && d.Config.TPM > 0 {
		_ = p.limiter.Adjust(ctx, d.tpmKey, time.Minute, -tokens)
	}
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
	if !p.ChargedTokens() || used == p.demand || !limits.SameWindow(p.pickedAt, r.opts.Now(), time.Minute) {
		return
	}
	_ = r.opts.Limiter.Adjust(context.Background(), p.tpmKey, time.Minute, used-p.demand)
}

// ChargedTokens reports whether the pick was charged tokens against its
// deployment's tpm limit, so its actual usage must be settled.
func (p Pick) ChargedTokens() bool { return p.Deployment != nil && p.demand > 0 }
