// Package limits counts rpm, tpm and daily usage against caps. One Limiter
// interface has two implementations: Memory, for a single replica, and
// Redis, which makes N replicas enforce one shared limit (DESIGN.md routing
// rule 7). Fallback puts a Memory limiter behind a Redis one so a Redis
// outage degrades to per-replica limits instead of failing requests, and
// can sum the corrections of many requests into one script call
// (WithCoalescing, coalesce.go).
//
// # Window semantics
//
// Both implementations use fixed windows aligned to multiples of the window
// length since the Unix epoch, in whole milliseconds: a request at time t
// counts against the window [k·w, (k+1)·w) with k = floor(t/w). A one-minute
// window therefore runs from hh:mm:00.000 to hh:mm:59.999 UTC and a 24h
// window from 00:00 to 24:00 UTC. Within one window exactly limit units are
// admitted, never more; the counter starts again from zero at the next
// boundary. The known cost of fixed windows is a burst at a boundary: up to
// 2·limit units can be admitted within any span of length w that straddles
// a boundary, never more than limit inside one aligned window.
//
// A denied Take reports RetryAfter as the time until the next boundary,
// which is exactly when the request would fit (cost <= limit, and the new
// window is empty unless Adjust added to it in the meantime).
//
// Only admitted requests count (DESIGN.md routing rule 10): a denied Take
// consumes nothing.
package limits

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limiter counts usage in fixed windows. Implementations are safe for
// concurrent use.
type Limiter interface {
	// Take consumes cost units of the limit for key if they fit in the
	// window containing now, atomically. It returns whether they were taken
	// and, when not, how long until they would fit. A cost of zero only
	// reports the remaining units. A cost above limit can never fit: Take
	// returns ErrCostExceedsLimit and consumes nothing.
	Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error)
	// Adjust adds delta (may be negative) to key's current window without
	// checking the limit, e.g. to correct a tpm estimate by the actual usage
	// after the response. The count never drops below zero.
	Adjust(ctx context.Context, key string, window time.Duration, delta int64) error
}

// Decision is the outcome of a Take.
type Decision struct {
	// Allowed reports whether the cost was taken.
	Allowed bool
	// Remaining is the number of units left in the current window after this
	// Take, never negative.
	Remaining int64
	// RetryAfter is how long until the cost would fit; zero when Allowed.
	RetryAfter time.Duration
}

var (
	// ErrInvalid reports arguments no limit can be checked with: a limit
	// below 1, a window shorter than a millisecond, or a negative cost.
	ErrInvalid = errors.New("limits: invalid argument")
	// ErrCostExceedsLimit reports a cost larger than the whole limit, which
	// no window could ever admit; retrying is pointless.
	ErrCostExceedsLimit = errors.New("limits: cost exceeds the limit")
)

// window is one fixed window: its index since the epoch and its bounds in
// Unix milliseconds.
type window struct {
	ms    int64 // length
	index int64 // floor(now / ms)
}

// windowAt returns the window of length d that contains now.
func windowAt(now time.Time, d time.Duration) window {
	ms := d.Milliseconds()
	return window{ms: ms, index: floorDiv(now.UnixMilli(), ms)}
}

// end returns the first instant after w.
func (w window) end() time.Time { return time.UnixMilli((w.index + 1) * w.ms) }

// SameWindow reports whether a and b fall in the same fixed window of
// length d. A correction (Adjust) for a Take made at a must be dropped when
// it is made at a b in a later window: that window never counted the cost.
func SameWindow(a, b time.Time, d time.Duration) bool {
	return windowAt(a, d).index == windowAt(b, d).index
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// checkTake validates Take's arguments.
func checkTake(limit int64, window time.Duration, cost int64) error {
	switch {
	case limit < 1:
		return fmt.Errorf("%w: limit %d must be at least 1", ErrInvalid, limit)
	case window < time.Millisecond:
		return fmt.Errorf("%w: window %v must be at least 1ms", ErrInvalid, window)
	case cost < 0:
		return fmt.Errorf("%w: cost %d must not be negative", ErrInvalid, cost)
	case cost > limit:
		return fmt.Errorf("%w: cost %d, limit %d", ErrCostExceedsLimit, cost, limit)
	}
	return nil
}

// checkAdjust validates Adjust's arguments.
func checkAdjust(window time.Duration) error {
	if window < time.Millisecond {
		return fmt.Errorf("%w: window %v must be at least 1ms", ErrInvalid, window)
	}
	return nil
}

// decide turns the count after a Take into a Decision.
func decide(allowed bool, limit, count int64, now time.Time, w window) Decision {
	d := Decision{Allowed: allowed, Remaining: max(0, limit-count)}
	if !allowed {
		d.RetryAfter = w.end().Sub(now)
	}
	return d
}
