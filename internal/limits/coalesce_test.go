package limits_test

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// never is an interval no test waits out: sums go out at stop or when
// maxPending counters wait, so no test depends on the wall clock.
const never = time.Hour

// runCoalescing runs f's coalescing; the returned stop ends it and waits
// for Run to return (it is also called at cleanup).
func runCoalescing(t *testing.T, f *limits.Fallback) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	for !f.Coalescing() {
		runtime.Gosched()
	}
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// count reads key's count in the window containing now, through l.
func count(t *testing.T, l limits.Limiter, key string) int64 {
	t.Helper()
	d, err := l.Take(context.Background(), key, 1<<40, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	return 1<<40 - d.Remaining
}

// TestCoalescedOneCall: the corrections of many requests, made while Run
// runs, reach Redis as one script call at stop, summed per counter, and
// the counts end exact. Corrections made after Run returned go at once.
func TestCoalescedOneCall(t *testing.T) {
	client, prefix := testRedis(t)
	rt := &roundTrips{}
	client.AddHook(rt)
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	shared := limits.NewRedis(client, prefix, clock.Now)
	f := limits.NewFallback(shared, limits.NewMemory(clock.Now), nil).WithCoalescing(never, clock.Now)
	ctx := context.Background()
	// Load the script: Redis caches it on first use.
	if err := shared.AdjustAll(ctx, []limits.Adjustment{{Key: "warm", Window: time.Minute, Delta: 1}}); err != nil {
		t.Fatal(err)
	}
	const requests = 100
	keys := []string{"key:tpm:k", "team:tpm:t", "deployment:tpm:a"}
	for _, k := range keys {
		if _, err := f.Take(ctx, k, 1<<40, time.Minute, 50*requests); err != nil {
			t.Fatal(err)
		}
	}
	stop := runCoalescing(t, f)
	rt.n.Store(0)
	taken := clock.Now()
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			// Each used 30 of its estimated 50; every other one made its
			// key's correction on its own, the rest in one call.
			as := make([]limits.Adjustment, 0, len(keys))
			for _, k := range keys {
				as = append(as, limits.Adjustment{Key: k, Window: time.Minute, Delta: -20, At: taken})
			}
			if i%2 == 0 {
				if err := f.Adjust(ctx, keys[0], time.Minute, -20); err != nil {
					t.Error(err)
				}
				as = as[1:]
			}
			if err := f.AdjustAll(ctx, as); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := rt.n.Load(); got != 0 {
		t.Fatalf("%d Redis round trips before the interval ended, want 0", got)
	}
	stop()
	if got, want := rt.n.Load(), int64(1); got != want {
		t.Errorf("%d Redis round trips for %d requests' corrections, want %d", got, requests, want)
	}
	for _, k := range keys {
		if got, want := count(t, shared, k), int64(30*requests); got != want {
			t.Errorf("%s: count %d, want %d", k, got, want)
		}
	}
	rt.n.Store(0)
	if err := f.AdjustAll(ctx, []limits.Adjustment{{Key: keys[0], Window: time.Minute, Delta: 5}}); err != nil {
		t.Fatal(err)
	}
	if got, want := rt.n.Load(), int64(1); got != want {
		t.Errorf("AdjustAll after Run returned: %d round trips, want %d (sent at once)", got, want)
	}
	if got, want := f.MissedAdjusts(), int64(0); got != want {
		t.Errorf("MissedAdjusts = %d, want %d", got, want)
	}
}

// TestCoalescedWindowTurn: a correction made in one minute and sent in
// the next corrects its own minute, never the new one: on Redis, on a
// local primary, and with Redis down (the Fallback's local limiter,
// which drops a correction of a minute it no longer counts).
func TestCoalescedWindowTurn(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { down.Close() })
	for _, tt := range []struct {
		name        string
		primary     func(now func() time.Time) limits.Limiter
		oldReadable bool // the ended minute's count can be read back
	}{
		{"redis", func(now func() time.Time) limits.Limiter {
			client, prefix := testRedis(t)
			return limits.NewRedis(client, prefix, now)
		}, true},
		{"memory", func(now func() time.Time) limits.Limiter { return limits.NewMemory(now) }, false},
		{"redis down", func(now func() time.Time) limits.Limiter { return limits.NewRedis(down, "spillway-test:", now) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 59, 500e6, time.UTC))
			f := limits.NewFallback(tt.primary(clock.Now), limits.NewMemory(clock.Now), slog.New(slog.DiscardHandler)).WithCoalescing(never, clock.Now)
			stop := runCoalescing(t, f)
			ctx := context.Background()
			taken := clock.Now()
			if _, err := f.Take(ctx, "tpm", 1<<40, time.Minute, 100); err != nil {
				t.Fatal(err)
			}
			// 12:00:59.9: the request used 40 of its 100; the correction
			// waits.
			clock.Advance(400 * time.Millisecond)
			if err := f.AdjustAll(ctx, []limits.Adjustment{{Key: "tpm", Window: time.Minute, Delta: -60, At: taken}}); err != nil {
				t.Fatal(err)
			}
			// 12:01:00.1: a request of the new minute, then the send.
			clock.Advance(200 * time.Millisecond)
			if _, err := f.Take(ctx, "tpm", 1<<40, time.Minute, 100); err != nil {
				t.Fatal(err)
			}
			stop()
			if got, want := count(t, f, "tpm"), int64(100); got != want {
				t.Errorf("12:01's count %d, want %d: the 12:00 correction landed in it", got, want)
			}
			if tt.oldReadable {
				clock.Advance(-time.Second) // back to 12:00:59.1
				if got, want := count(t, f, "tpm"), int64(40); got != want {
					t.Errorf("12:00's count %d, want %d (corrected)", got, want)
				}
			}
		})
	}
}

// TestCoalescedRedisDown: sums sent while Redis is down correct the
// local counts instead, each counted as missed, once per counter.
func TestCoalescedRedisDown(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start.Add(15 * time.Second))
	primary := &flaky{Limiter: limits.NewMemory(clock.Now)}
	local := limits.NewMemory(clock.Now)
	f := limits.NewFallback(primary, local, slog.New(slog.DiscardHandler)).WithCoalescing(never, clock.Now)
	stop := runCoalescing(t, f)
	ctx := context.Background()
	primary.fail.Store(true)
	for _, k := range []string{"a", "b"} {
		if _, err := f.Take(ctx, k, 1000, time.Minute, 500); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if err := f.AdjustAll(ctx, []limits.Adjustment{{Key: "a", Window: time.Minute, Delta: -10}, {Key: "b", Window: time.Minute, Delta: -20}}); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	for _, c := range []struct {
		key  string
		want int64
	}{{"a", 400}, {"b", 300}} {
		if got := count(t, local, c.key); got != c.want {
			t.Errorf("local %s: count %d, want %d", c.key, got, c.want)
		}
	}
	if got, want := f.MissedAdjusts(), int64(2); got != want {
		t.Errorf("MissedAdjusts = %d, want %d (one per counter sent)", got, want)
	}
}

// recorder is a primary that hands each AdjustAll it gets to calls.
type recorder struct {
	*limits.Memory
	calls chan []limits.Adjustment
}

func (r *recorder) AdjustAll(ctx context.Context, as []limits.Adjustment) error {
	r.calls <- append([]limits.Adjustment(nil), as...)
	return r.Memory.AdjustAll(ctx, as)
}

// TestCoalescedFull: once maxPending counters wait, they are sent without
// waiting for the interval to end.
func TestCoalescedFull(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	primary := &recorder{Memory: limits.NewMemory(clock.Now), calls: make(chan []limits.Adjustment, limits.MaxPending)}
	f := limits.NewFallback(primary, limits.NewMemory(clock.Now), nil).WithCoalescing(never, clock.Now)
	runCoalescing(t, f)
	for i := range limits.MaxPending {
		if err := f.Adjust(context.Background(), "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), time.Minute, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := len(<-primary.calls), limits.MaxPending; got != want {
		t.Errorf("sent %d corrections, want %d", got, want)
	}
}
