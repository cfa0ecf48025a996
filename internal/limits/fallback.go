package limits

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Fallback is a Limiter that asks a primary (shared, Redis) limiter and,
// when it fails, answers from a local one instead: limits then hold per
// replica rather than across replicas until the primary answers again.
// Requests are never failed because Redis is down.
//
// Every call tries the primary first, so the first successful call switches
// back; the local counts gathered during the outage are not carried over.
// Errors in the caller's arguments (ErrInvalid, ErrCostExceedsLimit) and the
// caller's own cancelled context are returned as they are; no primary error
// ever is.
type Fallback struct {
	primary, local Limiter
	log            *slog.Logger
	down           atomic.Bool

	// While the primary is down, only one call per retry interval tries
	// it (see WithRetry); nextTry is when the next may, in Unix ns.
	retry   time.Duration
	now     func() time.Time
	nextTry atomic.Int64

	// missed counts Adjusts the primary did not get (see MissedAdjusts).
	missed atomic.Int64

	// co sums corrections while Run runs (WithCoalescing); nil sends
	// each at once.
	co *coalescer
}

var _ Limiter = (*Fallback)(nil)

// NewFallback returns a Fallback answering from primary, or from local while
// primary fails. It logs a warning once per outage and an info message when
// primary recovers, to log (slog.Default when nil).
func NewFallback(primary, local Limiter, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.Default()
	}
	return &Fallback{primary: primary, local: local, log: log}
}

// WithRetry makes f, while its primary is down, send only one call per
// every to the primary and answer the others locally at once, so an outage
// does not add a connection timeout to every request. now is the clock
// (time.Now when nil). Without it every call tries the primary.
func (f *Fallback) WithRetry(every time.Duration, now func() time.Time) *Fallback {
	if now == nil {
		now = time.Now
	}
	f.retry, f.now = every, now
	return f
}

// WithCoalescing makes f's corrections (Adjust, AdjustAll) wait up to
// every, summed per counter and window with the others', and go out
// together: one call to the primary for many requests' corrections (see
// coalesce.go). They wait only while Run runs. now is the clock of a
// correction without At (time.Now when nil).
func (f *Fallback) WithCoalescing(every time.Duration, now func() time.Time) *Fallback {
	f.co = newCoalescer(every, now)
	return f
}

// Run sends f's coalesced corrections until ctx ends, then sends those
// still waiting and returns; later ones are sent at once. Run once, and
// before whatever the primary needs (a Redis client, its batcher) is
// closed. Without WithCoalescing it returns at once.
func (f *Fallback) Run(ctx context.Context) {
	if f.co == nil {
		return
	}
	f.co.run(ctx, func(ctx context.Context, as []Adjustment) {
		if err := f.adjustNow(ctx, as); err != nil {
			f.log.Warn("could not correct limit counts", "counts", len(as), "err", err)
		}
	})
}

// Coalescing reports whether f's corrections are being summed: Run is
// running.
func (f *Fallback) Coalescing() bool {
	if f.co == nil {
		return false
	}
	f.co.mu.Lock()
	defer f.co.mu.Unlock()
	return f.co.running
}

// tryPrimary reports whether this call should ask the primary.
func (f *Fallback) tryPrimary() bool {
	if f.retry <= 0 || !f.down.Load() {
		return true
	}
	now := f.now().UnixNano()
	next := f.nextTry.Load()
	return now >= next && f.nextTry.CompareAndSwap(next, now+int64(f.retry))
}

// Healthy reports whether the last call to the primary succeeded (true
// before the first call).
func (f *Fallback) Healthy() bool { return !f.down.Load() }

// MissedAdjusts is how many Adjusts the primary did not get since start
// (it was down, or the call failed): each leaves a shared count off by its
// delta until the window ends. Those answered locally are in the local
// counts.
func (f *Fallback) MissedAdjusts() int64 { return f.missed.Load() }

// Take implements Limiter.
func (f *Fallback) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error) {
	if !f.tryPrimary() {
		return f.local.Take(ctx, key, limit, window, cost)
	}
	d, err := f.primary.Take(ctx, key, limit, window, cost)
	if err == nil {
		f.recovered()
		return d, nil
	}
	if err := f.failed(ctx, err); err != nil {
		return Decision{}, err
	}
	return f.local.Take(ctx, key, limit, window, cost)
}

// Adjust implements Limiter. While coalescing, it adds the correction to
// its counter's sum and returns.
func (f *Fallback) Adjust(ctx context.Context, key string, window time.Duration, delta int64) error {
	if f.co != nil {
		if err := checkAdjust(window); err != nil {
			return err
		}
		if f.co.add([]Adjustment{{Key: key, Window: window, Delta: delta}}) {
			return nil
		}
	}
	if !f.tryPrimary() {
		f.missed.Add(1)
		return f.local.Adjust(ctx, key, window, delta)
	}
	err := f.primary.Adjust(ctx, key, window, delta)
	if err == nil {
		f.recovered()
		return nil
	}
	f.missed.Add(1)
	if err := f.failed(ctx, err); err != nil {
		return err
	}
	return f.local.Adjust(ctx, key, window, delta)
}

// failed handles an error from the primary. It returns the error to give
// the caller, or nil when the local limiter should answer.
func (f *Fallback) failed(ctx context.Context, err error) error {
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrCostExceedsLimit) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller gave up; that says nothing about Redis.
		return ctxErr
	}
	if f.down.CompareAndSwap(false, true) {
		if f.retry > 0 {
			f.nextTry.Store(f.now().UnixNano() + int64(f.retry))
		}
		f.log.Warn("redis unreachable: limits are per replica until it returns", "err", err)
	}
	return nil
}

func (f *Fallback) recovered() {
	if f.down.CompareAndSwap(true, false) {
		f.log.Info("redis reachable again: limits are shared by all replicas")
	}
}

// TakeAll implements Multi: the primary's TakeAll, or the local one's
// while the primary fails.
func (f *Fallback) TakeAll(ctx context.Context, ls []Limit, out []Decision) error {
	if !f.tryPrimary() {
		return TakeAll(ctx, f.local, ls, out)
	}
	err := TakeAll(ctx, f.primary, ls, out)
	if err == nil {
		f.recovered()
		return nil
	}
	if err := f.failed(ctx, err); err != nil {
		return err
	}
	return TakeAll(ctx, f.local, ls, out)
}

// AdjustAll implements MultiAdjuster: the primary's AdjustAll, or the
// local one's while the primary fails. Each adjustment the primary did
// not get counts in MissedAdjusts. While coalescing, it adds them to
// their counters' sums and returns.
func (f *Fallback) AdjustAll(ctx context.Context, as []Adjustment) error {
	if f.co != nil {
		for _, a := range as {
			if err := checkAdjust(a.Window); err != nil {
				return err
			}
		}
		if f.co.add(as) {
			return nil
		}
	}
	return f.adjustNow(ctx, as)
}

// adjustNow is AdjustAll without coalescing.
func (f *Fallback) adjustNow(ctx context.Context, as []Adjustment) error {
	if !f.tryPrimary() {
		f.missed.Add(int64(len(as)))
		return AdjustAll(ctx, f.local, as)
	}
	err := AdjustAll(ctx, f.primary, as)
	if err == nil {
		f.recovered()
		return nil
	}
	f.missed.Add(int64(len(as)))
	if err := f.failed(ctx, err); err != nil {
		return err
	}
	return AdjustAll(ctx, f.local, as)
}
