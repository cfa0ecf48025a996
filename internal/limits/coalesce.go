package limits

import (
	"context"
	"sync"
	"time"
)

// Coalesced corrections. Once a governed request's answer is in, its
// tpm counts (its key's, its team's, its deployment's) are corrected by
// the tokens it really used. Sent request by request, that is one script
// call per request, while under load the same few counters are corrected
// hundreds of times a second. A Fallback made WithCoalescing instead adds
// each correction to a sum per counter and window, and Run sends the sums
// as one AdjustAll every interval, or at once when maxPending counters
// wait: one call for every request settled in that interval, whatever
// their number. Nothing waits on a correction, so the interval is only
// how late a count is right; a count is off by at most that interval's
// estimates.
//
// A correction belongs to the window its units were taken in
// (Adjustment.At); its sum is kept per window and sent with that
// window's start as At, so one flushed after the minute turned still
// corrects its own minute, never the new one. A sum is clamped at zero
// once, where the corrections one by one were each: they differ only
// when a count would have gone below zero, which a correction of units
// that were taken does not do.
//
// The sums go through the Fallback's own AdjustAll: to Redis, or to the
// local limiter while Redis is down, each sum the primary did not get
// counted in MissedAdjusts. Before Run runs and once it has returned,
// corrections are sent at once, so none is lost at shutdown: Run sends
// what is pending when its context ends, and whatever comes later goes
// straight through.

// maxPending is how many counters may wait for the interval; one more
// sends them at once, and no call carries more.
const maxPending = 256

// pendingKey names one sum: a counter in one window.
type pendingKey struct {
	key       string
	ms, index int64
}

// coalescer holds the sums until Run sends them.
type coalescer struct {
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	running bool
	sums    map[pendingKey]int64
	// kick wakes Run: the interval's first sum is in, or maxPending are.
	kick chan struct{}
}

func newCoalescer(every time.Duration, now func() time.Time) *coalescer {
	if now == nil {
		now = time.Now
	}
	return &coalescer{every: every, now: now, sums: make(map[pendingKey]int64), kick: make(chan struct{}, 1)}
}

// add adds as to the sums. It reports false, adding nothing, when Run is
// not running: the caller then makes them itself.
func (c *coalescer) add(as []Adjustment) bool {
	var now time.Time // read once, and only for an adjustment without At
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return false
	}
	before := len(c.sums)
	for _, a := range as {
		if a.Delta == 0 {
			continue
		}
		if a.At.IsZero() && now.IsZero() {
			now = c.now()
		}
		w := a.windowOf(now)
		c.sums[pendingKey{key: a.Key, ms: w.ms, index: w.index}] += a.Delta
	}
	after := len(c.sums)
	c.mu.Unlock()
	if before == 0 && after > 0 || before < maxPending && after >= maxPending {
		select {
		case c.kick <- struct{}{}:
		default: // Run has one already
		}
	}
	return true
}

// run sends the sums through send every interval until ctx ends, then
// sends what is left and returns.
func (c *coalescer) run(ctx context.Context, send func(context.Context, []Adjustment)) {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	// The sends outlive the caller's context: a correction is made even
	// while shutting down.
	sendCtx := context.WithoutCancel(ctx)
	f := flusher{spare: make(map[pendingKey]int64)}
	timer := time.NewTimer(c.every)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-c.kick:
		case <-ctx.Done():
			c.stop(sendCtx, &f, send)
			return
		}
		if !c.full() {
			timer.Reset(c.every)
			select {
			case <-timer.C:
			case <-c.kick: // maxPending are in
			case <-ctx.Done():
				c.stop(sendCtx, &f, send)
				return
			}
		}
		c.mu.Lock()
		sums := f.swap(c)
		c.mu.Unlock()
		f.send(sendCtx, sums, send)
	}
}

// full reports whether maxPending counters wait.
func (c *coalescer) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sums) >= maxPending
}

// stop ends the coalescing, atomically with taking the last sums: a
// correction added after it is made by its caller.
func (c *coalescer) stop(ctx context.Context, f *flusher, send func(context.Context, []Adjustment)) {
	c.mu.Lock()
	c.running = false
	sums := f.swap(c)
	c.mu.Unlock()
	f.send(ctx, sums, send)
}

// flusher is Run's own: the map the sums go to next, and the
// adjustments they are sent as, both reused.
type flusher struct {
	spare map[pendingKey]int64
	buf   []Adjustment
}

// swap takes c's sums, leaving the spare map (empty) in their place. The
// caller holds c.mu.
func (f *flusher) swap(c *coalescer) map[pendingKey]int64 {
	sums := c.sums
	c.sums, f.spare = f.spare, nil
	return sums
}

// send sends sums through send, at most maxPending a call, and keeps the
// emptied map as the next spare.
func (f *flusher) send(ctx context.Context, sums map[pendingKey]int64, send func(context.Context, []Adjustment)) {
	f.buf = f.buf[:0]
	for k, delta := range sums {
		if delta == 0 {
			continue
		}
		f.buf = append(f.buf, Adjustment{
			Key:    k.key,
			Window: time.Duration(k.ms) * time.Millisecond,
			Delta:  delta,
			At:     time.UnixMilli(k.index * k.ms),
		})
	}
	clear(sums)
	f.spare = sums
	for as := f.buf; len(as) > 0; {
		n := min(len(as), maxPending)
		send(ctx, as[:n])
		as = as[n:]
	}
	clear(f.buf) // drop the keys' strings
}
