package store_test

import (
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// TestLatencyBucketScheme pins the scheme: bucket indexes are stored in
// the database, so a change here would misread every existing row.
func TestLatencyBucketScheme(t *testing.T) {
	if store.LatencyBuckets != 275 {
		t.Fatalf("LatencyBuckets = %d, want 275", store.LatencyBuckets)
	}
	var sum time.Duration
	last := store.LatencyBuckets - 2 // the last bucket with a bound
	for b := range last + 1 {
		bound, ok := store.LatencyBucketBound(b)
		if !ok {
			t.Fatalf("bucket %d has no bound", b)
		}
		sum += bound
		if got := store.LatencyBucket(bound); got != b {
			t.Errorf("LatencyBucket(%v), bucket %d's bound = %d, want %d", bound, b, got, b)
		}
		if got := store.LatencyBucket(bound + time.Nanosecond); got != b+1 {
			t.Errorf("LatencyBucket(%v + 1ns) = %d, want %d", bound, got, b+1)
		}
		if b == 0 || b == last {
			continue
		}
		prev, _ := store.LatencyBucketBound(b - 1)
		if bound <= prev || bound > prev*105/100+time.Microsecond {
			t.Errorf("bucket %d: bound %v, previous %v; want 5%% wider, rounded up to the µs", b, bound, prev)
		}
	}
	if sum != 12_890_876_724*time.Microsecond {
		t.Errorf("sum of the bounds = %d µs; the scheme changed", sum/time.Microsecond)
	}
	if _, ok := store.LatencyBucketBound(last + 1); ok {
		t.Errorf("the overflow bucket %d has a bound", last+1)
	}
	for _, tc := range []struct {
		latency time.Duration
		want    int
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Millisecond, 0},
		{time.Millisecond + time.Nanosecond, 1},
		{1050 * time.Microsecond, 1},
		{1051 * time.Microsecond, 2},
		{100 * time.Millisecond, 95},
		{10 * time.Minute, 273},
		{10*time.Minute + time.Nanosecond, 274},
		{24 * time.Hour, 274},
	} {
		if got := store.LatencyBucket(tc.latency); got != tc.want {
			t.Errorf("LatencyBucket(%v) = %d, want %d", tc.latency, got, tc.want)
		}
	}
}
