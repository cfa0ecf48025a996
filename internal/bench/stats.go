package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile of sorted (ascending) by the
// nearest-rank method: the smallest sample such that at least p percent of
// the samples are less than or equal to it. It is exact, not interpolated.
// It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 || math.IsNaN(p) {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// float64(n)*p/100 rather than p/100*float64(n): the former is exact for
	// whole percentages and sample counts, where 0.99*100 is not.
	rank := int(math.Ceil(float64(n) * p / 100))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// sortedConcat joins the per-worker sample slices into one sorted slice.
func sortedConcat(parts [][]time.Duration) []time.Duration {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	all := make([]time.Duration, 0, n)
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	return all
}

// perWorkerCap is how many samples to preallocate per worker for a run of d,
// given the rate (requests/s over all workers) seen during the warm-up, with
// headroom so that appending in the measuring loop rarely grows the slice.
func perWorkerCap(rate float64, d time.Duration, workers int) int {
	const minCap, maxCap = 256, 1 << 20
	if workers < 1 {
		workers = 1
	}
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return 4096
	}
	c := rate * d.Seconds() * 1.5 / float64(workers)
	switch {
	case c < minCap:
		return minCap
	case c > maxCap:
		return maxCap
	}
	return int(c)
}
