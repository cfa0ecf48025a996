package router

import (
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
)

// Deployment is one upstream target as the router sees it: its immutable
// config and prepared Target, plus live state shared by every request.
// State survives config swaps for as long as the deployment keeps its id.
type Deployment struct {
	Config config.Deployment
	Target *provider.Target
	// rpmKey and tpmKey name its counters in the limiter, built once.
	rpmKey, tpmKey string
	// idHeader is []string{Config.ID}, built once: see IDHeader.
	idHeader []string
	*state
}

// state is everything that changes while traffic flows. Only atomics: the
// hot path takes no lock.
type state struct {
	inflight atomic.Int64
	// cooldown is the deadline before which the deployment is skipped
	// (429, auth failure, missing deployment); nil when never cooled.
	cooldown atomic.Pointer[cooldown]
	circuit  circuit
	// full is when the deployment's rpm/tpm window frees up, in Unix
	// nanoseconds; 0 when never full. See limits.go.
	full atomic.Int64
	// latency is an EWMA of successful attempt latency, in nanoseconds.
	latency atomic.Int64

	requests atomic.Int64
	failures atomic.Int64
	lastErr  atomic.Pointer[string]
}

// ID returns the deployment's id.
func (d *Deployment) ID() string { return d.Config.ID }

// IDHeader returns the id as a header value (X-Spillway-Deployment),
// shared by every answer of the deployment: callers put it in a header
// as it is and never modify it.
func (d *Deployment) IDHeader() []string {
	if d.idHeader == nil {
		return []string{d.Config.ID}
	}
	return d.idHeader[:1:1]
}

// InFlight returns the number of attempts currently sent to it.
func (d *Deployment) InFlight() int64 { return d.inflight.Load() }

// Latency returns the smoothed latency of its successful attempts.
func (d *Deployment) Latency() time.Duration { return time.Duration(d.latency.Load()) }

// cooldown is a deadline and why, swapped as one so a reader never pairs
// one 429's deadline with another's reason.
type cooldown struct {
	until  time.Time
	reason string
	// verdict is what caused it (RateLimited for one learned from a
	// replica): a throttle passes by itself, a rejected key does not.
	verdict Verdict
}

// coolingUntil returns the cooldown deadline if it is after now.
func (d *Deployment) coolingUntil(now time.Time) (time.Time, bool) {
	c := d.cooldown.Load()
	if c == nil || !now.Before(c.until) {
		return time.Time{}, false
	}
	return c.until, true
}

// extendCooldown cools the deployment until until for reason, unless a
// later deadline is already set: concurrent 429s, here or on another
// replica, keep the latest. It reports whether the deadline moved.
func (d *Deployment) extendCooldown(until time.Time, reason string, v Verdict) bool {
	next := &cooldown{until: until, reason: reason, verdict: v}
	for {
		cur := d.cooldown.Load()
		if cur != nil && !cur.until.Before(until) {
			return false
		}
		if d.cooldown.CompareAndSwap(cur, next) {
			return true
		}
	}
}

// available reports whether a request may be sent now, and if not, when the
// deployment may come back (zero when unknown): the latest of its
// cooldown, its open circuit and its full rpm/tpm window.
func (d *Deployment) available(now time.Time) (bool, time.Time) {
	until, cooling := d.coolingUntil(now)
	ok, open := d.circuit.allows(now)
	full, isFull := d.fullUntil(now)
	if !cooling && ok && !isFull {
		return true, time.Time{}
	}
	if open.After(until) {
		until = open
	}
	if full.After(until) {
		until = full
	}
	return false, until
}

// ewmaWeight is the share of a new sample in the latency average.
const ewmaWeight = 0.2

func (d *Deployment) observeLatency(l time.Duration) {
	for {
		old := d.latency.Load()
		next := int64(l)
		if old != 0 {
			next = int64(float64(old)*(1-ewmaWeight) + float64(l)*ewmaWeight)
		}
		if d.latency.CompareAndSwap(old, next) {
			return
		}
	}
}
