package limits_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// onlyLimiter hides a limiter's TakeAll, so limits.TakeAll takes the
// one-Take-per-limit path.
type onlyLimiter struct{ limits.Limiter }

// TestTakeAllWithoutMulti: a Limiter that is not a Multi still gets the
// all-or-nothing outcome from limits.TakeAll.
func TestTakeAllWithoutMulti(t *testing.T) {
	limitstest.Run(t, func(_ *testing.T, now func() time.Time) limits.Limiter {
		return onlyLimiter{limits.NewMemory(now)}
	})
}

// roundTrips counts the commands a Redis client sends, pipelines as one.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRedisTakeAllOneRoundTrip pins the cost of a request's limits: one
// Redis command however many limits it has, once the script is cached.
func TestRedisTakeAllOneRoundTrip(t *testing.T) {
	client, prefix := testRedis(t)
	rt := &roundTrips{}
	client.AddHook(rt)
	l := limits.NewRedis(client, prefix, nil)
	ls := []limits.Limit{
		{Key: "key:rpm", Limit: 100, Window: time.Minute, Cost: 1},
		{Key: "key:tpm", Limit: 1e6, Window: time.Minute, Cost: 500},
		{Key: "team:tpm", Limit: 1e6, Window: time.Minute, Cost: 500},
		{Key: "daily", Limit: 100, Window: 24 * time.Hour, Cost: 1},
	}
	out := make([]limits.Decision, len(ls))
	if err := l.TakeAll(t.Context(), ls, out); err != nil { // loads the script
		t.Fatal(err)
	}
	for _, want := range []int64{1, 1, 1} {
		rt.n.Store(0)
		if err := l.TakeAll(t.Context(), ls, out); err != nil {
			t.Fatal(err)
		}
		if got := rt.n.Load(); got != want {
			t.Fatalf("round trips for %d limits = %d, want %d", len(ls), got, want)
		}
		if !limits.AllAllowed(out) {
			t.Fatalf("TakeAll = %+v, want allowed", out)
		}
	}
}

func BenchmarkRedisTakeAll(b *testing.B) {
	client, prefix := testRedis(b)
	l := limits.NewRedis(client, prefix, nil)
	ls := []limits.Limit{
		{Key: "key:rpm", Limit: 1 << 50, Window: time.Minute, Cost: 1},
		{Key: "key:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
		{Key: "dep:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
	}
	out := make([]limits.Decision, len(ls))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.TakeAll(ctx, ls, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryTakeAll(b *testing.B) {
	l := limits.NewMemory(nil)
	ls := []limits.Limit{
		{Key: "key:rpm", Limit: 1 << 50, Window: time.Minute, Cost: 1},
		{Key: "key:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
		{Key: "dep:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
	}
	out := make([]limits.Decision, len(ls))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.TakeAll(ctx, ls, out); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSlots(t *testing.T) {
	t.Run("Memory", func(t *testing.T) {
		limitstest.RunSlots(t, func(_ *testing.T, now func() time.Time) limits.Slots { return limits.NewMemory(now) })
	})
	t.Run("Redis", func(t *testing.T) {
		limitstest.RunSlots(t, func(t *testing.T, now func() time.Time) limits.Slots {
			client, prefix := testRedis(t)
			return limits.NewRedis(client, prefix, now)
		})
	})
	t.Run("RedisBatched", func(t *testing.T) {
		limitstest.RunSlots(t, func(t *testing.T, now func() time.Time) limits.Slots {
			client, prefix := testRedis(t)
			l := limits.NewRedis(client, prefix, now)
			runBatched(t, l)
			return l
		})
	})
	t.Run("FallbackPrimaryDown", func(t *testing.T) {
		limitstest.RunSlots(t, func(_ *testing.T, now func() time.Time) limits.Slots {
			down := &flaky{Limiter: limits.NewMemory(now)}
			down.fail.Store(true)
			log, _ := newLog()
			return limits.NewFallback(down, limits.NewMemory(now), log)
		})
	})
	t.Run("FallbackPrimaryUp", func(t *testing.T) {
		limitstest.RunSlots(t, func(t *testing.T, now func() time.Time) limits.Slots {
			client, prefix := testRedis(t)
			log, _ := newLog()
			return limits.NewFallback(limits.NewRedis(client, prefix, now), limits.NewMemory(now), log)
		})
	})
}
