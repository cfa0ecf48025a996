package limitstest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// takeAll calls limits.TakeAll and fails the test on an error.
func takeAll(t *testing.T, l limits.Limiter, ls ...limits.Limit) []limits.Decision {
	t.Helper()
	out := make([]limits.Decision, len(ls))
	if err := limits.TakeAll(context.Background(), l, ls, out); err != nil {
		t.Fatalf("TakeAll(%+v): %v", ls, err)
	}
	return out
}

// rpmTPM is a request's two limits: 1 of 3 requests and cost of 10 tokens.
func rpmTPM(cost int64) []limits.Limit {
	return []limits.Limit{
		{Key: "rpm", Limit: 3, Window: time.Minute, Cost: 1},
		{Key: "tpm", Limit: 10, Window: time.Minute, Cost: cost},
	}
}

func testTakeAllExact(t *testing.T, l limits.Limiter, _ *Clock) {
	for i := range int64(3) {
		got := takeAll(t, l, rpmTPM(3)...)
		want := []limits.Decision{{Allowed: true, Remaining: 2 - i}, {Allowed: true, Remaining: 7 - 3*i}}
		if got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("TakeAll #%d = %+v, want %+v", i+1, got, want)
		}
	}
	// The rpm is spent; the tpm (1 left) would take 1 but nothing is taken.
	// (A Limiter that is not a Multi reports the limits after the refused
	// one as refused, unasked.)
	got := takeAll(t, l, rpmTPM(1)...)
	want := []limits.Decision{{Allowed: false, Remaining: 0, RetryAfter: time.Minute}, {Allowed: true, Remaining: 1}}
	if _, multi := l.(limits.Multi); !multi {
		got, want = got[:1], want[:1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("TakeAll over the rpm = %+v, want %+v", got, want)
	}
	if d := take(t, l, "tpm", 10, time.Minute, 0); d.Remaining != 1 {
		t.Fatalf("tpm left after a refused TakeAll = %d, want 1", d.Remaining)
	}
}

func testTakeAllAllOrNothing(t *testing.T, l limits.Limiter, _ *Clock) {
	take(t, l, "tpm", 10, time.Minute, 8)
	// The tpm has 2 left: a request of 5 is refused and takes no rpm.
	got := takeAll(t, l, rpmTPM(5)...)
	if limits.AllAllowed(got) || !got[0].Allowed || got[1].Allowed {
		t.Fatalf("TakeAll with the tpm short = %+v, want the rpm alone allowed and nothing taken", got)
	}
	if got, want := got[1].RetryAfter, time.Minute; got != want {
		t.Fatalf("RetryAfter of the refused tpm = %v, want %v", got, want)
	}
	if d := take(t, l, "rpm", 3, time.Minute, 0); d.Remaining != 3 {
		t.Fatalf("rpm left after a refused TakeAll = %d, want 3 (nothing taken)", d.Remaining)
	}
	if got := takeAll(t, l, rpmTPM(2)...); !limits.AllAllowed(got) {
		t.Fatalf("TakeAll that fits exactly = %+v, want allowed", got)
	}
}

func testTakeAllSharesCounters(t *testing.T, l limits.Limiter, _ *Clock) {
	takeAll(t, l, rpmTPM(4)...)
	if d := take(t, l, "tpm", 10, time.Minute, 0); d.Remaining != 6 {
		t.Fatalf("Take sees %d left after TakeAll of 4, want 6", d.Remaining)
	}
	adjust(t, l, "tpm", time.Minute, -4)
	if got := takeAll(t, l, rpmTPM(10)...); !limits.AllAllowed(got) || got[1].Remaining != 0 {
		t.Fatalf("TakeAll after Adjust gave back = %+v, want the whole tpm", got)
	}
}

func testTakeAllCostAboveLimit(t *testing.T, l limits.Limiter, _ *Clock) {
	out := make([]limits.Decision, 2)
	err := limits.TakeAll(context.Background(), l, rpmTPM(11), out)
	if !errors.Is(err, limits.ErrCostExceedsLimit) {
		t.Fatalf("TakeAll(cost 11, limit 10) error = %v, want ErrCostExceedsLimit", err)
	}
	if d := take(t, l, "rpm", 3, time.Minute, 0); d.Remaining != 3 {
		t.Fatalf("rpm left = %d, want 3 (nothing taken)", d.Remaining)
	}
	if err := limits.TakeAll(context.Background(), l, rpmTPM(1), out[:1]); !errors.Is(err, limits.ErrInvalid) {
		t.Fatalf("TakeAll with too few decisions: error = %v, want ErrInvalid", err)
	}
}

// testTakeAllWindows: a minute and a day limit in one call each keep their
// own window and their own Retry-After.
func testTakeAllWindows(t *testing.T, l limits.Limiter, clock *Clock) {
	clock.Advance(90 * time.Second)
	ls := []limits.Limit{
		{Key: "rpm", Limit: 5, Window: time.Minute, Cost: 1},
		{Key: "daily", Limit: 1, Window: 24 * time.Hour, Cost: 1},
	}
	if got := takeAll(t, l, ls...); !limits.AllAllowed(got) {
		t.Fatalf("first TakeAll = %+v, want allowed", got)
	}
	got := takeAll(t, l, ls...)
	if !got[0].Allowed || got[1].Allowed {
		t.Fatalf("second TakeAll = %+v, want the daily cap alone refused", got)
	}
	if got, want := got[1].RetryAfter, 24*time.Hour-90*time.Second; got != want {
		t.Fatalf("daily RetryAfter = %v, want %v", got, want)
	}
	if got, want := limits.UntilReset(clock.Now(), time.Minute), 30*time.Second; got != want {
		t.Fatalf("UntilReset(minute) = %v, want %v", got, want)
	}
	clock.Advance(24 * time.Hour)
	if got := takeAll(t, l, ls...); !limits.AllAllowed(got) {
		t.Fatalf("TakeAll the next day = %+v, want allowed", got)
	}
}

func testTakeAllConcurrent(t *testing.T, l limits.Limiter, _ *Clock) {
	const goroutines = 40
	ls := []limits.Limit{
		{Key: "a", Limit: 20, Window: time.Minute, Cost: 1},
		{Key: "b", Limit: 1000, Window: time.Minute, Cost: 50},
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			out := make([]limits.Decision, len(ls))
			if err := limits.TakeAll(context.Background(), l, ls, out); err != nil {
				t.Error(err)
				return
			}
			if limits.AllAllowed(out) {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	// b admits 20 of cost 50, a admits 20: exactly 20 either way, and
	// both counters agree.
	if got := allowed.Load(); got != 20 {
		t.Fatalf("%d concurrent TakeAlls admitted %d, want exactly 20", goroutines, got)
	}
	if d := take(t, l, "b", 1000, time.Minute, 0); d.Remaining != 0 {
		t.Fatalf("b left = %d, want 0", d.Remaining)
	}
}
