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

// TestAdjustAll: a request's corrections in one call, each as Adjust
// would make it (never below zero, zero deltas skipped), on Memory and on
// the real Redis, where they are one round trip.
func TestAdjustAll(t *testing.T) {
	client, prefix := testRedis(t)
	rt := &roundTrips{}
	client.AddHook(rt)
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	for _, tt := range []struct {
		name  string
		l     limits.Limiter
		trips int64 // -1: not counted
	}{
		{"memory", limits.NewMemory(clock.Now), -1},
		{"redis", limits.NewRedis(client, prefix, clock.Now), 1},
		{"fallback", limits.NewFallback(limits.NewRedis(client, prefix+"fb:", clock.Now), limits.NewMemory(clock.Now), nil), 1},
		{"not a MultiAdjuster", onlyLimiter{limits.NewMemory(clock.Now)}, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			for _, k := range []string{"a", "b", "c"} {
				if _, err := tt.l.Take(ctx, k, 1000, time.Minute, 100); err != nil {
					t.Fatal(err)
				}
			}
			// Load the script first: Redis caches it on first use.
			if err := limits.AdjustAll(ctx, tt.l, []limits.Adjustment{{Key: "warm", Window: time.Minute, Delta: 1}}); err != nil {
				t.Fatal(err)
			}
			rt.n.Store(0)
			err := limits.AdjustAll(ctx, tt.l, []limits.Adjustment{
				{Key: "a", Window: time.Minute, Delta: -30},
				{Key: "b", Window: time.Minute, Delta: 0},
				{Key: "c", Window: time.Minute, Delta: -500},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rt.n.Load(), tt.trips; want >= 0 && got != want {
				t.Errorf("round trips = %d, want %d", got, want)
			}
			for _, c := range []struct {
				key  string
				want int64 // count after
			}{{"a", 70}, {"b", 100}, {"c", 0}} {
				d, err := tt.l.Take(ctx, c.key, 1000, time.Minute, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got := 1000 - d.Remaining; got != c.want {
					t.Errorf("%s: count %d, want %d", c.key, got, c.want)
				}
			}
		})
	}
}

func BenchmarkRedisAdjustAll(b *testing.B) {
	client, prefix := testRedis(b)
	l := limits.NewRedis(client, prefix, nil)
	as := []limits.Adjustment{
		{Key: "key:tpm", Window: time.Minute, Delta: -3},
		{Key: "team:tpm", Window: time.Minute, Delta: -3},
		{Key: "dep:tpm", Window: time.Minute, Delta: -3},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.AdjustAll(ctx, as); err != nil {
			b.Fatal(err)
		}
	}
}
