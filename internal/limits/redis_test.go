package limits_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// testRedis returns a client for the test Redis and a random key prefix
// for this test; the client is closed and the prefix's keys deleted when tb
// ends. Without Redis the test skips, except under CI, where a skip would
// hide a broken setup: testenv decides.
func testRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	client := newRedisClient(tb, testenv.Redis(tb))
	prefix := "spillway-test:" + rand.Text() + ":"
	tb.Cleanup(func() { deleteKeys(tb, client, prefix) })
	return client, prefix
}

func newRedisClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("%s: %v", url, err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis %s: %v", url, err)
	}
	return client
}

func deleteKeys(tb testing.TB, client *redis.Client, prefix string) {
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("scanning %s*: %v", prefix, err)
		return
	}
	if len(keys) > 0 {
		if err := client.Del(ctx, keys...).Err(); err != nil {
			tb.Errorf("deleting %s*: %v", prefix, err)
		}
	}
}

func TestRedis(t *testing.T) {
	limitstest.Run(t, func(t *testing.T, now func() time.Time) limits.Limiter {
		client, prefix := testRedis(t)
		return limits.NewRedis(client, prefix, now)
	})
}

// TestRedisReplicas is routing rule 7: two replicas, each with its own
// client, sharing one prefix enforce one limit between them.
func TestRedisReplicas(t *testing.T) {
	client, prefix := testRedis(t)
	other := newRedisClient(t, testenv.Redis(t))
	clock := limitstest.NewClock(limitstest.Start)
	replicas := []limits.Limiter{
		limits.NewRedis(client, prefix, clock.Now),
		limits.NewRedis(other, prefix, clock.Now),
	}

	const limit, goroutines = 25, 100
	for window := range 2 {
		var allowed [2]atomic.Int64
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				d, err := replicas[i%2].Take(context.Background(), "key", limit, time.Minute, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed[i%2].Add(1)
				}
			})
		}
		wg.Wait()
		if got := allowed[0].Load() + allowed[1].Load(); got != limit {
			t.Fatalf("window %d: replicas admitted %d + %d = %d, want exactly %d",
				window, allowed[0].Load(), allowed[1].Load(), got, limit)
		}
		clock.Advance(time.Minute)
	}
}

// TestRedisKeysExpire checks that counters do not pile up in Redis.
func TestRedisKeysExpire(t *testing.T) {
	client, prefix := testRedis(t)
	clock := limitstest.NewClock(limitstest.Start.Add(15 * time.Second))
	l := limits.NewRedis(client, prefix, clock.Now)
	ctx := context.Background()
	if _, err := l.Take(ctx, "k", 5, time.Minute, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Adjust(ctx, "a", time.Minute, -1); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"k", "a"} {
		name := prefix + "{l}" + key + ":60000:" + strconv.FormatInt(limitstest.Start.UnixMilli()/60000, 10)
		ttl, err := client.PTTL(ctx, name).Result()
		if err != nil {
			t.Fatal(err)
		}
		// 45s left in the window plus one more window.
		if want := 105 * time.Second; ttl <= 0 || ttl > want || ttl < want-5*time.Second {
			t.Errorf("PTTL(%s) = %v, want about %v", name, ttl, want)
		}
	}
}

func BenchmarkRedisTake(b *testing.B) {
	client, prefix := testRedis(b)
	l := limits.NewRedis(client, prefix, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Take(ctx, "key", 1<<50, time.Minute, 1); err != nil {
			b.Fatal(err)
		}
	}
}
