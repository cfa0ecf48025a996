package store

import (
	"sort"
	"time"
)

// Latency buckets let both databases compute percentiles from plain
// GROUP BY counts: every usage row stores, next to its exact latency, the
// index of the bucket that latency falls in, and QueryUsage walks the
// per-bucket counts in Go.
//
// The scheme is log-scale, about 5% wide, from 1 ms to 10 min:
//
//	bucket 0           latency ≤ 1 ms (1000 µs), zero and negative included
//	bucket i, i ≥ 1    bound(i-1) < latency ≤ bound(i), where
//	                   bound(i) = ⌈bound(i-1) · 105 / 100⌉ µs
//	bucket N-2         up to exactly 10 min (the first bound past it is cut)
//	bucket N-1         over 10 min: overflow
//
// Integer arithmetic keeps the bounds identical on every platform. A
// percentile reported from a bucket is that bucket's upper bound, so it is
// never below the true value and at most 5% (plus 1 µs of rounding) above
// it. The indexes are
// stored in the database: the scheme must never change once rows exist.
var latencyBounds = func() []int64 {
	const maxBound = int64(10 * time.Minute / time.Microsecond)
	bounds := []int64{1000}
	for b := bounds[0]; b < maxBound; {
		b = min((b*105+99)/100, maxBound)
		bounds = append(bounds, b)
	}
	return bounds
}()

// LatencyBuckets is the number of latency buckets, the overflow bucket
// included: bucket indexes run from 0 to LatencyBuckets-1.
var LatencyBuckets = len(latencyBounds) + 1

// LatencyBucket returns the index of the bucket that holds latency d.
func LatencyBucket(d time.Duration) int {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond > 0 {
		us++ // 1000.5 µs is above the 1 ms bound
	}
	return sort.Search(len(latencyBounds), func(i int) bool { return latencyBounds[i] >= us })
}

// LatencyBucketBound returns the upper bound of bucket b, the value a
// percentile falling in it reports. The overflow bucket has none and
// returns ok false.
func LatencyBucketBound(b int) (bound time.Duration, ok bool) {
	if b < 0 || b >= len(latencyBounds) {
		return 0, false
	}
	return time.Duration(latencyBounds[b]) * time.Microsecond, true
}
