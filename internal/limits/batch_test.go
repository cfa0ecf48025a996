package limits_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// runBatched starts l's batcher for the rest of the test.
func runBatched(t testing.TB, l *limits.Redis) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestRedisBatched: with its batcher running, a Redis limiter keeps every
// promise of the suite.
func TestRedisBatched(t *testing.T) {
	limitstest.Run(t, func(t *testing.T, now func() time.Time) limits.Limiter {
		client, prefix := testRedis(t)
		l := limits.NewRedis(client, prefix, now)
		runBatched(t, l)
		return l
	})
}

// TestRedisBatchShares: concurrent calls share round trips, and each gets
// its own answer: exactly the limit is admitted.
func TestRedisBatchShares(t *testing.T) {
	client, prefix := testRedis(t)
	rt := &roundTrips{}
	client.AddHook(rt)
	l := limits.NewRedis(client, prefix, nil)
	runBatched(t, l)
	const calls, limit = 400, 150
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range calls {
		wg.Go(func() {
			<-start
			out := make([]limits.Decision, 2)
			err := l.TakeAll(context.Background(), []limits.Limit{
				{Key: "rpm", Limit: limit, Window: time.Hour, Cost: 1},
				{Key: "tpm", Limit: 1 << 40, Window: time.Hour, Cost: 10},
			}, out)
			if err != nil {
				t.Error(err)
				return
			}
			if limits.AllAllowed(out) {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("admitted %d of %d, want exactly %d", got, calls, limit)
	}
	if got := rt.n.Load(); got >= calls {
		t.Errorf("%d round trips for %d concurrent calls, want fewer (shared)", got, calls)
	}
	d, err := l.Take(context.Background(), "tpm", 1<<40, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := (1<<40)-d.Remaining, int64(10*limit); got != want {
		t.Errorf("tpm counted %d, want %d (only the admitted calls)", got, want)
	}
}

// TestRedisBatchNoScript: after Redis forgets its scripts, batched calls
// still run.
func TestRedisBatchNoScript(t *testing.T) {
	client, prefix := testRedis(t)
	l := limits.NewRedis(client, prefix, nil)
	runBatched(t, l)
	ctx := context.Background()
	if _, err := l.Take(ctx, "k", 5, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := l.Take(ctx, "k", 5, time.Hour, 1)
	if err != nil {
		t.Fatalf("Take after SCRIPT FLUSH: %v", err)
	}
	if got, want := d.Remaining, int64(3); got != want {
		t.Fatalf("Remaining = %d, want %d", got, want)
	}
}

// TestRedisBatchStopped: once Run has returned, calls go straight to Redis
// instead of waiting for it.
func TestRedisBatchStopped(t *testing.T) {
	client, prefix := testRedis(t)
	l := limits.NewRedis(client, prefix, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	if _, err := l.Take(context.Background(), "k", 5, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if err := l.Adjust(context.Background(), "k", time.Hour, 1); err != nil {
		t.Fatalf("Adjust after Run returned: %v", err)
	}
}

// BenchmarkRedisTakeAllBatched reports, beside the time, how many calls
// shared a round trip (calls/trip): what the batcher is for.
func BenchmarkRedisTakeAllBatched(b *testing.B) {
	client, prefix := testRedis(b)
	rt := &roundTrips{}
	client.AddHook(rt)
	l := limits.NewRedis(client, prefix, nil)
	runBatched(b, l)
	ls := []limits.Limit{
		{Key: "key:rpm", Limit: 1 << 50, Window: time.Minute, Cost: 1},
		{Key: "key:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		out := make([]limits.Decision, len(ls))
		for pb.Next() {
			if err := l.TakeAll(context.Background(), ls, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	if n := rt.n.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "calls/trip")
	}
}
