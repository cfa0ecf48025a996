package limitstest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

// NewSlots returns fresh, empty slots reading the time from now.
type NewSlots func(t *testing.T, now func() time.Time) limits.Slots

// RunSlots is the conformance suite of limits.Slots.
func RunSlots(t *testing.T, newSlots NewSlots) {
	tests := []struct {
		name string
		run  func(*testing.T, limits.Slots, *Clock)
	}{
		{"CapExact", testSlotsCap},
		{"ReleaseFrees", testSlotsRelease},
		{"LeaseExpires", testSlotsLease},
		{"HolderRenews", testSlotsRenew},
		{"KeysIndependent", testSlotsKeys},
		{"Invalid", testSlotsInvalid},
		{"Concurrent", testSlotsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(Start)
			tt.run(t, newSlots(t, clock.Now), clock)
		})
	}
}

func acquire(t *testing.T, s limits.Slots, key, holder string, max int64) bool {
	t.Helper()
	ok, err := s.Acquire(context.Background(), key, holder, max, time.Minute)
	if err != nil {
		t.Fatalf("Acquire(%q, %q, %d): %v", key, holder, max, err)
	}
	return ok
}

func testSlotsCap(t *testing.T, s limits.Slots, _ *Clock) {
	for i := range 3 {
		if !acquire(t, s, "k", "h"+strconv.Itoa(i), 3) {
			t.Fatalf("slot %d of 3 refused", i+1)
		}
	}
	if acquire(t, s, "k", "h3", 3) {
		t.Fatal("a fourth slot of 3 was given")
	}
}

func testSlotsRelease(t *testing.T, s limits.Slots, _ *Clock) {
	acquire(t, s, "k", "a", 1)
	if acquire(t, s, "k", "b", 1) {
		t.Fatal("second slot of 1 given")
	}
	if err := s.Release(context.Background(), "k", "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire(t, s, "k", "b", 1) {
		t.Fatal("slot refused after the holder released it")
	}
	if err := s.Release(context.Background(), "k", "nobody"); err != nil {
		t.Fatalf("releasing a slot not held: %v", err)
	}
}

func testSlotsLease(t *testing.T, s limits.Slots, clock *Clock) {
	acquire(t, s, "k", "crashed", 1)
	clock.Advance(59 * time.Second)
	if acquire(t, s, "k", "b", 1) {
		t.Fatal("slot given while its lease runs")
	}
	clock.Advance(time.Second)
	if !acquire(t, s, "k", "b", 1) {
		t.Fatal("slot refused after the lease of a holder that never released it ended")
	}
}

// testSlotsRenew: a holder acquiring again renews its lease even at the
// cap, without taking a second slot, so a long-lived holder that renews
// keeps its slot and one that stops loses it when its last lease ends.
func testSlotsRenew(t *testing.T, s limits.Slots, clock *Clock) {
	acquire(t, s, "k", "live", 2)
	acquire(t, s, "k", "dead", 2)
	for range 3 {
		clock.Advance(40 * time.Second)
		if !acquire(t, s, "k", "live", 2) {
			t.Fatal("a holder's renewal at the cap was refused")
		}
	}
	// 120 s in: "dead" last leased at 0 s is gone; "live" renewed at 120 s.
	if !acquire(t, s, "k", "new", 2) {
		t.Fatal("the expired holder's slot was not freed")
	}
	if acquire(t, s, "k", "third", 2) {
		t.Fatal("a renewal counted as a free slot: a third of 2 was given")
	}
	clock.Advance(59 * time.Second)
	if acquire(t, s, "k", "third", 2) {
		t.Fatal("a renewed lease ended early")
	}
}

func testSlotsKeys(t *testing.T, s limits.Slots, _ *Clock) {
	acquire(t, s, "a", "h", 1)
	if !acquire(t, s, "b", "h", 1) {
		t.Fatal("another key's slot refused")
	}
}

func testSlotsInvalid(t *testing.T, s limits.Slots, _ *Clock) {
	if _, err := s.Acquire(context.Background(), "k", "h", 0, time.Minute); !errors.Is(err, limits.ErrInvalid) {
		t.Errorf("max 0: error = %v, want ErrInvalid", err)
	}
	if _, err := s.Acquire(context.Background(), "k", "h", 1, 0); !errors.Is(err, limits.ErrInvalid) {
		t.Errorf("lease 0: error = %v, want ErrInvalid", err)
	}
}

func testSlotsConcurrent(t *testing.T, s limits.Slots, _ *Clock) {
	const max, goroutines = 5, 40
	var got atomic.Int64
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			ok, err := s.Acquire(context.Background(), "k", "h"+strconv.Itoa(i), max, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	if got.Load() != max {
		t.Fatalf("%d concurrent Acquires got %d slots, want exactly %d", goroutines, got.Load(), max)
	}
}
