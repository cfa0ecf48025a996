package router

import (
	"sync/atomic"
	"time"
)

// circuit is a consecutive-failure breaker. Closed: traffic flows. After
// threshold failures in a row it opens until a deadline; then one probe
// request is let through (half-open). The probe's success closes it, its
// failure opens it again for another period.
type circuit struct {
	consecutive atomic.Int32
	openUntil   atomic.Int64 // unix nanos; 0 = closed
	probing     atomic.Bool
}

// allows reports whether a request may pass now, without claiming the probe.
func (c *circuit) allows(now time.Time) (bool, time.Time) {
	until := c.openUntil.Load()
	if until == 0 {
		return true, time.Time{}
	}
	if now.UnixNano() < until {
		return false, time.Unix(0, until)
	}
	return !c.probing.Load(), time.Time{}
}

// claim is called when a request is about to be sent. It returns false when
// the circuit is half-open and another request already holds the probe.
func (c *circuit) claim(now time.Time) (ok, probe bool) {
	until := c.openUntil.Load()
	if until == 0 {
		return true, false
	}
	if now.UnixNano() < until {
		return false, false
	}
	if c.probing.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

// success closes the circuit.
func (c *circuit) success() {
	c.consecutive.Store(0)
	c.openUntil.Store(0)
	c.probing.Store(false)
}

// failure counts a failure and opens the circuit when the threshold is
// reached or when a probe failed. It reports whether it opened.
func (c *circuit) failure(now time.Time, threshold int, open time.Duration) bool {
	n := c.consecutive.Add(1)
	if c.probing.Load() || (threshold > 0 && int(n) >= threshold) {
		c.openUntil.Store(now.Add(open).UnixNano())
		c.probing.Store(false)
		return true
	}
	return false
}

// release gives the probe back without a verdict (the client went away).
func (c *circuit) release(probe bool) {
	if probe {
		c.probing.Store(false)
	}
}

// state names the circuit's state for status pages.
func (c *circuit) state(now time.Time) string {
	until := c.openUntil.Load()
	switch {
	case until == 0:
		return "closed"
	case now.UnixNano() < until:
		return "open"
	default:
		return "half-open"
	}
}
