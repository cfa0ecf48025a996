package limits_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

const unreachable = "redis unreachable: limits are per replica until it returns"

// logBuffer collects log output from concurrent callers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), msg)
}

func newLog() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// flaky is a Limiter that fails on demand and otherwise delegates.
type flaky struct {
	limits.Limiter
	fail atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *flaky) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (limits.Decision, error) {
	if f.fail.Load() {
		return limits.Decision{}, errDown
	}
	return f.Limiter.Take(ctx, key, limit, window, cost)
}

func (f *flaky) Adjust(ctx context.Context, key string, window time.Duration, delta int64) error {
	if f.fail.Load() {
		return errDown
	}
	return f.Limiter.Adjust(ctx, key, window, delta)
}

// TestFallbackConformance: a Fallback whose primary works behaves like any
// Limiter, and so does one whose primary is down (it is then the local one).
func TestFallbackConformance(t *testing.T) {
	t.Run("PrimaryUp", func(t *testing.T) {
		limitstest.Run(t, func(_ *testing.T, now func() time.Time) limits.Limiter {
			return limits.NewFallback(limits.NewMemory(now), limits.NewMemory(now), slog.New(slog.DiscardHandler))
		})
	})
	t.Run("PrimaryDown", func(t *testing.T) {
		limitstest.Run(t, func(_ *testing.T, now func() time.Time) limits.Limiter {
			primary := &flaky{Limiter: limits.NewMemory(now)}
			primary.fail.Store(true)
			return limits.NewFallback(primary, limits.NewMemory(now), slog.New(slog.DiscardHandler))
		})
	})
}

// TestFallbackClosedPort points a real Redis limiter at a port nobody
// listens on: every answer comes from the local limiter, no error reaches
// the caller, and the outage is logged once.
func TestFallbackClosedPort(t *testing.T) {
	client := redis.NewClient(&redis.Options{
		Addr:               "127.0.0.1:1",
		MaxRetries:         -1,
		DialTimeout:        time.Second,
		DialerRetries:      1,
		DialerRetryTimeout: time.Millisecond,
	})
	t.Cleanup(func() { client.Close() })
	clock := limitstest.NewClock(limitstest.Start)
	log, logs := newLog()
	f := limits.NewFallback(limits.NewRedis(client, "spillway-test:", clock.Now), limits.NewMemory(clock.Now), log)
	ctx := context.Background()

	if !f.Healthy() {
		t.Fatal("Healthy() before any call = false, want true")
	}
	allowed := 0
	for range 5 {
		d, err := f.Take(ctx, "k", 3, time.Minute, 1)
		if err != nil {
			t.Fatalf("Take with Redis down: %v, want the local answer", err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("Takes admitted by the local limiter = %d, want 3", allowed)
	}
	if err := f.Adjust(ctx, "k", time.Minute, -1); err != nil {
		t.Errorf("Adjust with Redis down: %v, want nil", err)
	}
	if d, err := f.Take(ctx, "k", 3, time.Minute, 1); err != nil || !d.Allowed {
		t.Errorf("Take after local Adjust(-1) = %+v, %v; want allowed", d, err)
	}
	if f.Healthy() {
		t.Error("Healthy() with Redis down = true, want false")
	}
	if got := logs.count(unreachable); got != 1 {
		t.Errorf("%q logged %d times, want once", unreachable, got)
	}
}

// TestFallbackRedisUp: over a reachable Redis the Fallback answers from it.
func TestFallbackRedisUp(t *testing.T) {
	client, prefix := testRedis(t)
	clock := limitstest.NewClock(limitstest.Start)
	shared := limits.NewRedis(client, prefix, clock.Now)
	log, logs := newLog()
	f := limits.NewFallback(shared, limits.NewMemory(clock.Now), log)
	ctx := context.Background()
	if d, err := f.Take(ctx, "k", 3, time.Minute, 2); err != nil || !d.Allowed {
		t.Fatalf("Take = %+v, %v; want allowed", d, err)
	}
	// The count is in Redis, where another replica sees it.
	if d, err := shared.Take(ctx, "k", 3, time.Minute, 0); err != nil || d.Remaining != 1 {
		t.Fatalf("Redis remaining = %+v, %v; want 1", d, err)
	}
	if !f.Healthy() || logs.count(unreachable) != 0 {
		t.Errorf("Healthy() = %v, outage logged %d times; want true, 0", f.Healthy(), logs.count(unreachable))
	}
}

// TestFallbackRecovers switches a primary off and on again.
func TestFallbackRecovers(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	primary := &flaky{Limiter: limits.NewMemory(clock.Now)}
	local := limits.NewMemory(clock.Now)
	log, logs := newLog()
	f := limits.NewFallback(primary, local, log)
	ctx := context.Background()

	if d, err := f.Take(ctx, "k", 10, time.Minute, 4); err != nil || !d.Allowed || d.Remaining != 6 {
		t.Fatalf("Take with primary up = %+v, %v; want allowed with 6 remaining", d, err)
	}

	for outage := range 2 {
		primary.fail.Store(true)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := f.Take(ctx, "k", 10, time.Minute, 1); err != nil {
					t.Errorf("Take with primary down: %v", err)
				}
			})
		}
		wg.Wait()
		if f.Healthy() {
			t.Fatalf("outage %d: Healthy() = true, want false", outage)
		}
		if got, want := logs.count(unreachable), outage+1; got != want {
			t.Fatalf("outage %d: %q logged %d times, want %d", outage, unreachable, got, want)
		}
		// The local limiter counted the outage's Takes on its own.
		if d, _ := local.Take(ctx, "k", 10, time.Minute, 0); d.Remaining != 0 {
			t.Fatalf("outage %d: local remaining = %d, want 0", outage, d.Remaining)
		}

		primary.fail.Store(false)
		d, err := f.Take(ctx, "k", 10, time.Minute, 1)
		if err != nil || !d.Allowed || d.Remaining != 5 {
			t.Fatalf("outage %d: first Take after recovery = %+v, %v; want the primary's answer, 5 remaining", outage, d, err)
		}
		if !f.Healthy() {
			t.Fatalf("outage %d: Healthy() after a successful call = false, want true", outage)
		}
		clock.Advance(time.Minute)
		// A new window on both sides; put the primary back at 4 used.
		if err := f.Adjust(ctx, "k", time.Minute, 4); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFallbackCallerErrors: argument errors and the caller's cancellation
// are the caller's, not an outage.
func TestFallbackCallerErrors(t *testing.T) {
	primary := &flaky{Limiter: limits.NewMemory(nil)}
	log, logs := newLog()
	f := limits.NewFallback(primary, limits.NewMemory(nil), log)

	if _, err := f.Take(context.Background(), "k", 1, time.Minute, 2); !errors.Is(err, limits.ErrCostExceedsLimit) {
		t.Errorf("Take(cost 2, limit 1) error = %v, want ErrCostExceedsLimit", err)
	}
	if _, err := f.Take(context.Background(), "k", 0, time.Minute, 1); !errors.Is(err, limits.ErrInvalid) {
		t.Errorf("Take(limit 0) error = %v, want ErrInvalid", err)
	}

	primary.fail.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Take(ctx, "k", 1, time.Minute, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Take with a cancelled context: error = %v, want context.Canceled", err)
	}
	if !f.Healthy() || logs.count(unreachable) != 0 {
		t.Errorf("caller errors marked the primary down (Healthy %v, logs %d)", f.Healthy(), logs.count(unreachable))
	}
}

// counting is a flaky limiter that counts the calls that reach it.
type counting struct {
	flaky
	calls atomic.Int64
}

func (c *counting) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (limits.Decision, error) {
	c.calls.Add(1)
	return c.flaky.Take(ctx, key, limit, window, cost)
}

// TestFallbackRetryInterval: with WithRetry, an outage costs one call to the
// primary per interval, not one per request, and the first call after the
// interval that succeeds switches back.
func TestFallbackRetryInterval(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	primary := &counting{flaky: flaky{Limiter: limits.NewMemory(clock.Now)}}
	log, _ := newLog()
	f := limits.NewFallback(primary, limits.NewMemory(clock.Now), log).WithRetry(time.Second, clock.Now)
	ctx := context.Background()

	primary.fail.Store(true)
	for range 50 {
		if _, err := f.Take(ctx, "k", 100, time.Minute, 1); err != nil {
			t.Fatalf("Take with primary down: %v", err)
		}
	}
	if got, want := primary.calls.Load(), int64(1); got != want {
		t.Fatalf("primary called %d times during the first interval, want %d", got, want)
	}
	clock.Advance(time.Second)
	for range 50 {
		_, _ = f.Take(ctx, "k", 100, time.Minute, 1)
	}
	if got, want := primary.calls.Load(), int64(2); got != want {
		t.Fatalf("primary called %d times after one interval, want %d", got, want)
	}
	primary.fail.Store(false)
	_, _ = f.Take(ctx, "k", 100, time.Minute, 1)
	if f.Healthy() {
		t.Fatal("Healthy() before the interval passed = true, want false (the primary was not asked)")
	}
	clock.Advance(time.Second)
	if _, err := f.Take(ctx, "k", 100, time.Minute, 1); err != nil || !f.Healthy() {
		t.Fatalf("Take after recovery: err %v, Healthy %v; want nil, true", err, f.Healthy())
	}
	before := primary.calls.Load()
	for range 10 {
		_, _ = f.Take(ctx, "k", 100, time.Minute, 1)
	}
	if got, want := primary.calls.Load()-before, int64(10); got != want {
		t.Fatalf("primary called %d times while healthy, want %d (every call)", got, want)
	}
}
