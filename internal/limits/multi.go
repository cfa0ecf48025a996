package limits

import (
	"context"
	"fmt"
	"time"
)

// Limit is one counted limit of a request, as Take takes it: cost units of
// key's window of length Window, which holds at most Limit.
type Limit struct {
	Key    string
	Limit  int64
	Window time.Duration
	Cost   int64
}

// Multi is a Limiter that checks several limits in one atomic step, so a
// request under a key's rpm and tpm, its team's and its deployment's costs
// one call (one Redis round trip) and is counted against all of them or
// none. Memory, Redis and Fallback implement it; use TakeAll, which also
// serves a Limiter that does not.
type Multi interface {
	Limiter
	// TakeAll takes every limit's cost if each fits its window, else
	// nothing. out (len(out) == len(ls)) gets one Decision per limit, in
	// order: Allowed says whether that limit had room for its cost, and
	// the costs were taken exactly when every Decision is Allowed.
	// Remaining counts after the take when all were taken, else the units
	// left now. A cost above its limit consumes nothing and returns
	// ErrCostExceedsLimit.
	TakeAll(ctx context.Context, ls []Limit, out []Decision) error
}

var (
	_ Multi = (*Memory)(nil)
	_ Multi = (*Redis)(nil)
	_ Multi = (*Fallback)(nil)
)

// TakeAll takes ls from l all-or-nothing (see Multi.TakeAll). A Limiter
// that is not a Multi gets one Take per limit, in order, and what was taken
// is given back when a later one refuses; the outcome is the same, but not
// atomic, and its later limits are reported as refused unasked.
func TakeAll(ctx context.Context, l Limiter, ls []Limit, out []Decision) error {
	if len(out) != len(ls) {
		return fmt.Errorf("%w: %d decisions for %d limits", ErrInvalid, len(out), len(ls))
	}
	if m, ok := l.(Multi); ok {
		return m.TakeAll(ctx, ls, out)
	}
	if err := checkAll(ls); err != nil {
		return err
	}
	for i, x := range ls {
		d, err := l.Take(ctx, x.Key, x.Limit, x.Window, x.Cost)
		if err == nil && d.Allowed {
			out[i] = d
			continue
		}
		if err == nil {
			out[i] = d
			for j := i + 1; j < len(ls); j++ {
				out[j] = Decision{}
			}
		}
		giveBack := context.WithoutCancel(ctx)
		for _, y := range ls[:i] {
			if y.Cost > 0 {
				_ = l.Adjust(giveBack, y.Key, y.Window, -y.Cost)
			}
		}
		return err
	}
	return nil
}

// AllAllowed reports whether every decision of a TakeAll is Allowed, that
// is whether the costs were taken.
func AllAllowed(ds []Decision) bool {
	for _, d := range ds {
		if !d.Allowed {
			return false
		}
	}
	return true
}

// UntilReset is how long after now the window of length d containing now
// ends, when its count starts again from zero: what a caller is told as
// x-ratelimit-reset-*.
func UntilReset(now time.Time, d time.Duration) time.Duration {
	if d < time.Millisecond {
		return 0
	}
	return windowAt(now, d).end().Sub(now)
}

// checkAll validates TakeAll's arguments, every limit as Take would.
func checkAll(ls []Limit) error {
	for i, x := range ls {
		if err := checkTake(x.Limit, x.Window, x.Cost); err != nil {
			return fmt.Errorf("limit #%d (%s): %w", i, x.Key, err)
		}
	}
	return nil
}

// Adjustment is one correction of a count, as Adjust makes it: Delta
// added to Key's window of length Window, not below zero.
type Adjustment struct {
	Key    string
	Window time.Duration
	Delta  int64
	// At names the window to correct: the one containing At, which is
	// when the corrected units were taken. A correction made after that
	// window ended (a coalesced one flushed after the minute turned) then
	// lands in its own window, never in the next. Zero means the window
	// containing the limiter's now, as Adjust.
	At time.Time
}

// windowOf returns the window a corrects, now's when a.At is zero.
func (a Adjustment) windowOf(now time.Time) window {
	if a.At.IsZero() {
		return windowAt(now, a.Window)
	}
	return windowAt(a.At, a.Window)
}

// MultiAdjuster makes several Adjusts in one step: one Redis round trip
// for a request's tpm corrections (its key's, its team's, its
// deployment's). Memory, Redis and Fallback implement it; use AdjustAll,
// which also serves a Limiter that does not. AdjustAll does not keep as
// once it returns: callers reuse it (access.Checker.Settle).
type MultiAdjuster interface {
	AdjustAll(ctx context.Context, as []Adjustment) error
}

var (
	_ MultiAdjuster = (*Memory)(nil)
	_ MultiAdjuster = (*Redis)(nil)
	_ MultiAdjuster = (*Fallback)(nil)
)

// AdjustAll makes every adjustment of as through l: in one call when l is
// a MultiAdjuster, else one Adjust each, all tried, the first error
// returned. Zero deltas are skipped. A Limiter that is not a
// MultiAdjuster corrects its current window whatever At says: Adjust
// cannot name another.
func AdjustAll(ctx context.Context, l Limiter, as []Adjustment) error {
	if m, ok := l.(MultiAdjuster); ok {
		return m.AdjustAll(ctx, as)
	}
	var first error
	for _, a := range as {
		if err := l.Adjust(ctx, a.Key, a.Window, a.Delta); err != nil && first == nil {
			first = err
		}
	}
	return first
}
