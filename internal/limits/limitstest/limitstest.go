// Package limitstest is the conformance suite every limits.Limiter must
// pass: Run drives an implementation with an injected clock and checks the
// window semantics documented in package limits, so Memory and Redis are
// held to exactly the same behaviour.
package limitstest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// Clock is a manually advanced clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Start is where every test's clock starts: a boundary of every window the
// suite uses (minute, hour, day).
var Start = time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)

// NewLimiter returns a fresh, empty limiter reading the time from now. It
// registers any cleanup with t.
type NewLimiter func(t *testing.T, now func() time.Time) limits.Limiter

// Run runs the conformance suite against the limiters newLimiter returns.
func Run(t *testing.T, newLimiter NewLimiter) {
	tests := []struct {
		name string
		run  func(*testing.T, limits.Limiter, *Clock)
	}{
		{"ExactAdmission", testExactAdmission},
		{"CostAboveOne", testCostAboveOne},
		{"CostAboveLimit", testCostAboveLimit},
		{"CostZeroPeeks", testCostZeroPeeks},
		{"InvalidArguments", testInvalidArguments},
		{"RetryAfterToBoundary", testRetryAfterToBoundary},
		{"WindowReset", testWindowReset},
		{"IndependentKeys", testIndependentKeys},
		{"AdjustUp", testAdjustUp},
		{"AdjustDown", testAdjustDown},
		{"AdjustCurrentWindowOnly", testAdjustCurrentWindowOnly},
		{"Concurrent", testConcurrent},
		{"TakeAllExact", testTakeAllExact},
		{"TakeAllAllOrNothing", testTakeAllAllOrNothing},
		{"TakeAllSharesCounters", testTakeAllSharesCounters},
		{"TakeAllCostAboveLimit", testTakeAllCostAboveLimit},
		{"TakeAllWindows", testTakeAllWindows},
		{"TakeAllConcurrent", testTakeAllConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(Start)
			tt.run(t, newLimiter(t, clock.Now), clock)
		})
	}
}

// take calls l.Take and fails the test on an error.
func take(t *testing.T, l limits.Limiter, key string, limit int64, window time.Duration, cost int64) limits.Decision {
	t.Helper()
	d, err := l.Take(context.Background(), key, limit, window, cost)
	if err != nil {
		t.Fatalf("Take(%q, limit %d, %v, cost %d): %v", key, limit, window, cost, err)
	}
	return d
}

func adjust(t *testing.T, l limits.Limiter, key string, window time.Duration, delta int64) {
	t.Helper()
	if err := l.Adjust(context.Background(), key, window, delta); err != nil {
		t.Fatalf("Adjust(%q, %v, %d): %v", key, window, delta, err)
	}
}

// admitted takes cost units until denied (at most max tries) and returns
// how many Takes were allowed.
func admitted(t *testing.T, l limits.Limiter, key string, limit int64, window time.Duration, cost int64, tries int) int {
	t.Helper()
	n := 0
	for range tries {
		if take(t, l, key, limit, window, cost).Allowed {
			n++
		}
	}
	return n
}

func testExactAdmission(t *testing.T, l limits.Limiter, _ *Clock) {
	const limit = 5
	for i := range int64(limit) {
		d := take(t, l, "k", limit, time.Minute, 1)
		if want := (limits.Decision{Allowed: true, Remaining: limit - 1 - i}); d != want {
			t.Fatalf("Take #%d = %+v, want %+v", i+1, d, want)
		}
	}
	d := take(t, l, "k", limit, time.Minute, 1)
	if want := (limits.Decision{Allowed: false, Remaining: 0, RetryAfter: time.Minute}); d != want {
		t.Fatalf("Take over the limit = %+v, want %+v", d, want)
	}
}

func testCostAboveOne(t *testing.T, l limits.Limiter, _ *Clock) {
	const limit = 10
	if got, want := admitted(t, l, "k", limit, time.Minute, 3, 5), 3; got != want {
		t.Fatalf("Takes of 3 admitted under limit 10 = %d, want %d", got, want)
	}
	// 9 used: a cost of 1 still fits exactly, a cost of 2 did not.
	d := take(t, l, "k", limit, time.Minute, 1)
	if want := (limits.Decision{Allowed: true, Remaining: 0}); d != want {
		t.Fatalf("last unit = %+v, want %+v", d, want)
	}
}

func testCostAboveLimit(t *testing.T, l limits.Limiter, clock *Clock) {
	d, err := l.Take(context.Background(), "k", 5, time.Minute, 6)
	if !errors.Is(err, limits.ErrCostExceedsLimit) {
		t.Fatalf("Take(cost 6, limit 5) error = %v, want ErrCostExceedsLimit", err)
	}
	if d.Allowed {
		t.Fatalf("Take(cost 6, limit 5) allowed")
	}
	clock.Advance(time.Hour)
	if _, err := l.Take(context.Background(), "k", 5, time.Minute, 6); !errors.Is(err, limits.ErrCostExceedsLimit) {
		t.Fatalf("Take(cost 6, limit 5) in a fresh window error = %v, want ErrCostExceedsLimit", err)
	}
	// Nothing was consumed.
	if d := take(t, l, "k", 5, time.Minute, 5); !d.Allowed {
		t.Fatalf("Take(cost 5) after the rejected ones = %+v, want allowed", d)
	}
}

func testCostZeroPeeks(t *testing.T, l limits.Limiter, _ *Clock) {
	take(t, l, "k", 5, time.Minute, 2)
	for range 3 {
		d := take(t, l, "k", 5, time.Minute, 0)
		if want := (limits.Decision{Allowed: true, Remaining: 3}); d != want {
			t.Fatalf("Take(cost 0) = %+v, want %+v", d, want)
		}
	}
}

func testInvalidArguments(t *testing.T, l limits.Limiter, _ *Clock) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		limit  int64
		window time.Duration
		cost   int64
	}{
		{"zero limit", 0, time.Minute, 0},
		{"negative limit", -1, time.Minute, 0},
		{"zero window", 5, 0, 1},
		{"sub-millisecond window", 5, time.Microsecond, 1},
		{"negative cost", 5, time.Minute, -1},
	} {
		if _, err := l.Take(ctx, "k", tc.limit, tc.window, tc.cost); !errors.Is(err, limits.ErrInvalid) {
			t.Errorf("Take with %s: error = %v, want ErrInvalid", tc.name, err)
		}
	}
	if err := l.Adjust(ctx, "k", 0, 1); !errors.Is(err, limits.ErrInvalid) {
		t.Errorf("Adjust with zero window: error = %v, want ErrInvalid", err)
	}
}

func testRetryAfterToBoundary(t *testing.T, l limits.Limiter, clock *Clock) {
	clock.Advance(15 * time.Second)
	take(t, l, "k", 2, time.Minute, 2)
	if d := take(t, l, "k", 2, time.Minute, 1); d.Allowed || d.RetryAfter != 45*time.Second {
		t.Fatalf("Take 15s into the window = %+v, want denied with RetryAfter 45s", d)
	}
	clock.Advance(45*time.Second - time.Millisecond)
	if d := take(t, l, "k", 2, time.Minute, 1); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("Take 1ms before the boundary = %+v, want denied with RetryAfter 1ms", d)
	}
	clock.Advance(time.Millisecond)
	if d := take(t, l, "k", 2, time.Minute, 1); !d.Allowed {
		t.Fatalf("Take at the boundary = %+v, want allowed", d)
	}

	// Days are aligned to midnight UTC.
	clock.Advance(7 * time.Hour)
	take(t, l, "day", 1, 24*time.Hour, 1)
	if d := take(t, l, "day", 1, 24*time.Hour, 1); d.RetryAfter != 17*time.Hour-time.Minute {
		t.Fatalf("daily Take at 07:01 UTC: RetryAfter = %v, want %v", d.RetryAfter, 17*time.Hour-time.Minute)
	}
}

func testWindowReset(t *testing.T, l limits.Limiter, clock *Clock) {
	const limit = 4
	for w := range 3 {
		if got := admitted(t, l, "k", limit, time.Minute, 1, 2*limit); got != limit {
			t.Fatalf("window %d admitted %d, want %d", w, got, limit)
		}
		clock.Advance(time.Minute)
	}
	// A fixed window: a burst at the end of one window and the start of the
	// next is admitted in full, as documented.
	clock.Advance(59 * time.Second)
	if got := admitted(t, l, "k", limit, time.Minute, 1, 2*limit); got != limit {
		t.Fatalf("end of window admitted %d, want %d", got, limit)
	}
	clock.Advance(time.Second)
	if got := admitted(t, l, "k", limit, time.Minute, 1, 2*limit); got != limit {
		t.Fatalf("start of next window admitted %d, want %d", got, limit)
	}
}

func testIndependentKeys(t *testing.T, l limits.Limiter, _ *Clock) {
	take(t, l, "a", 3, time.Minute, 3)
	if d := take(t, l, "a", 3, time.Minute, 1); d.Allowed {
		t.Fatalf("key a over its limit allowed")
	}
	if d := take(t, l, "b", 3, time.Minute, 1); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("key b = %+v, want allowed with 2 remaining", d)
	}
	// The same key under another window length is another counter.
	if d := take(t, l, "a", 3, time.Hour, 1); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("key a per hour = %+v, want allowed with 2 remaining", d)
	}
}

func testAdjustUp(t *testing.T, l limits.Limiter, _ *Clock) {
	take(t, l, "k", 10, time.Minute, 1)
	adjust(t, l, "k", time.Minute, 8)
	if d := take(t, l, "k", 10, time.Minute, 1); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("Take after Adjust(+8) = %+v, want allowed with 0 remaining", d)
	}
	if d := take(t, l, "k", 10, time.Minute, 1); d.Allowed {
		t.Fatalf("Take beyond the limit after Adjust allowed")
	}
	// Adjust does not check the limit: it can push past it.
	adjust(t, l, "k", time.Minute, 5)
	if d := take(t, l, "k", 10, time.Minute, 0); d.Allowed || d.Remaining != 0 {
		t.Fatalf("peek after Adjust past the limit = %+v, want denied with 0 remaining", d)
	}
}

func testAdjustDown(t *testing.T, l limits.Limiter, _ *Clock) {
	take(t, l, "k", 10, time.Minute, 10)
	adjust(t, l, "k", time.Minute, -3)
	if got := admitted(t, l, "k", 10, time.Minute, 1, 10); got != 3 {
		t.Fatalf("admitted after Adjust(-3) = %d, want 3", got)
	}
	// The count never drops below zero: a large refund gives no credit.
	adjust(t, l, "fresh", time.Minute, -100)
	if got := admitted(t, l, "fresh", 10, time.Minute, 1, 20); got != 10 {
		t.Fatalf("admitted after Adjust(-100) on an empty counter = %d, want 10", got)
	}
	adjust(t, l, "k", time.Minute, -100)
	if got := admitted(t, l, "k", 10, time.Minute, 1, 20); got != 10 {
		t.Fatalf("admitted after Adjust(-100) = %d, want 10", got)
	}
}

func testAdjustCurrentWindowOnly(t *testing.T, l limits.Limiter, clock *Clock) {
	adjust(t, l, "k", time.Minute, 10)
	if d := take(t, l, "k", 10, time.Minute, 1); d.Allowed {
		t.Fatalf("Take after Adjust(+limit) allowed")
	}
	clock.Advance(time.Minute)
	if got := admitted(t, l, "k", 10, time.Minute, 1, 20); got != 10 {
		t.Fatalf("admitted in the window after Adjust = %d, want 10", got)
	}
}

func testConcurrent(t *testing.T, l limits.Limiter, _ *Clock) {
	const limit, goroutines = 20, 50
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			d, err := l.Take(context.Background(), "k", limit, time.Minute, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("%d concurrent Takes admitted %d, want exactly %d", goroutines, got, limit)
	}
}
