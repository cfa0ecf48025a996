package limits_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

func TestMemory(t *testing.T) {
	limitstest.Run(t, func(_ *testing.T, now func() time.Time) limits.Limiter {
		return limits.NewMemory(now)
	})
}

// TestMemorySweep checks that past windows are forgotten, so a long-running
// process does not grow with every key it ever saw.
func TestMemorySweep(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	m := limits.NewMemory(clock.Now)
	ctx := context.Background()
	for i := range 1000 {
		if _, err := m.Take(ctx, "key-"+strconv.Itoa(i), 1, time.Minute, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := limits.MemoryCounters(m); got != 1000 {
		t.Fatalf("counters after 1000 keys = %d, want 1000", got)
	}
	clock.Advance(2 * time.Minute)
	// One Take per shard is enough to sweep them all; use plenty of keys.
	for i := range 1000 {
		if _, err := m.Take(ctx, "other-"+strconv.Itoa(i), 1, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := limits.MemoryCounters(m); got != 0 {
		t.Fatalf("counters after their windows passed = %d, want 0", got)
	}
}

func BenchmarkMemoryTake(b *testing.B) {
	m := limits.NewMemory(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Take(ctx, "key", 1<<62, time.Minute, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryTakeParallel(b *testing.B) {
	m := limits.NewMemory(nil)
	ctx := context.Background()
	keys := []string{"team-a", "team-b", "team-c", "team-d", "team-e", "team-f", "team-g", "team-h"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Take(ctx, keys[i%len(keys)], 1<<62, time.Minute, 1); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
