package store

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// usageSegment is a part of a query's range and what answers it: the
// rollups of a span, or raw records (span 0).
type usageSegment struct {
	span, from, to int64
}

// planUsage splits [from, to) into whole days (unless the group is by
// hour), whole hours, and the partial hours at either end, which only raw
// records can answer. Open ends (math.MinInt64, math.MaxInt64) count as
// aligned.
func planUsage(from, to int64, hourly bool) []usageSegment {
	if from >= to {
		return nil
	}
	h0, h1 := ceilTo(from, msPerHour), floorTo(to, msPerHour)
	if h0 >= h1 {
		return []usageSegment{{0, from, to}}
	}
	var out []usageSegment
	add := func(span, from, to int64) {
		if from < to {
			out = append(out, usageSegment{span, from, to})
		}
	}
	add(0, from, h0)
	d0, d1 := ceilTo(h0, msPerDay), floorTo(h1, msPerDay)
	if hourly || d0 >= d1 {
		add(msPerHour, h0, h1)
	} else {
		add(msPerHour, h0, d0)
		add(msPerDay, d0, d1)
		add(msPerHour, d1, h1)
	}
	add(0, h1, to)
	return out
}

// floorTo rounds t down to a multiple of unit; ceilTo up. The extremes,
// open ends, stay.
func floorTo(t, unit int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	return floorDiv(t, unit) * unit
}

func ceilTo(t, unit int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	f := floorTo(t, unit)
	if f == t {
		return t
	}
	return f + unit
}

// rollupCube returns the smallest cube kept for span that has every
// dimension of need, and false when none has.
func rollupCube(span int64, need uint8) (uint8, bool) {
	best, found := uint8(0), false
	for _, sp := range rollupSpans {
		if sp.ms != span {
			continue
		}
		for _, c := range sp.cubes {
			if c&need == need && (!found || bits.OnesCount8(c) < bits.OnesCount8(best)) {
				best, found = c, true
			}
		}
	}
	return best, found
}

// queryUsageInto adds q's records to groups: from the rollups once the
// backlog of records older than them is rolled up, until then from raw
// records.
func (s *sqlStore) queryUsageInto(ctx context.Context, groups map[string]*usageAggregate, g usageGroup, q UsageQuery) error {
	from, to := usageRange(q)
	ready, err := s.usageRollupsReady(ctx)
	if err != nil {
		return err
	}
	if !ready {
		if err := s.scanRaw(ctx, groups, g, q, "usage_backlog", from, to); err != nil {
			return err
		}
		return s.scanRaw(ctx, groups, g, q, "usage", from, to)
	}
	need := g.dim
	for _, f := range usageFilters(q) {
		need |= f.dim
	}
	for _, seg := range planUsage(from, to, g.hourly) {
		cube, ok := rollupCube(seg.span, need)
		if seg.span == 0 || !ok {
			if err := s.scanRaw(ctx, groups, g, q, "usage", seg.from, seg.to); err != nil {
				return err
			}
			continue
		}
		if err := s.scanRollups(ctx, groups, g, q, seg, cube); err != nil {
			return err
		}
	}
	return nil
}

// scanRollups adds the rollup rows of cube in seg to groups.
func (s *sqlStore) scanRollups(ctx context.Context, groups map[string]*usageAggregate, g usageGroup, q UsageQuery, seg usageSegment, cube uint8) error {
	var b strings.Builder
	b.WriteString("SELECT ")
	if g.rollupExpr != "" {
		b.WriteString(g.rollupExpr + ", ")
	}
	b.WriteString(`requests, errors, prompt_tokens, completion_tokens, total_tokens, cost,
		max_latency_us, latency_hist, latency_tail FROM usage_rollups
		WHERE span = ? AND cube = ? AND period >= ? AND period < ?`)
	args := []any{seg.span, int64(cube), seg.from, seg.to}
	for _, f := range usageFilters(q) {
		b.WriteString(" AND " + f.column + " = ?")
		args = append(args, f.value)
	}
	rows, err := s.read.QueryContext(ctx, s.d.rebind(b.String()), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		num        int64
		text       string
		sums       usageBucket
		maxLatency int64
		hist, tail string
	)
	dest := make([]any, 0, 10)
	switch {
	case g.label != nil:
		dest = append(dest, &num)
	case g.rollupExpr != "":
		dest = append(dest, &text)
	}
	dest = append(dest, &sums.requests, &sums.errors, &sums.prompt, &sums.completion, &sums.total, &sums.cost, &maxLatency, &hist, &tail)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if g.label != nil {
			text = g.label(num)
		}
		a := aggregateOf(groups, text)
		overflow := a.hist[LatencyBuckets-1]
		if err := addHist(a.hist, hist); err != nil {
			return err
		}
		if err := addHist(a.hist, tail); err != nil {
			return err
		}
		if a.hist[LatencyBuckets-1] != overflow {
			a.overflowMax = max(a.overflowMax, time.Duration(maxLatency)*time.Microsecond)
		}
		a.addSums(sums)
	}
	return rows.Err()
}

// usageRollupsReady reports whether the rollups hold every record: true
// once usage_backlog, the records written before rollups existed, is
// empty. Another replica may empty it, so a store that saw it full looks
// again at every query until it is empty.
func (s *sqlStore) usageRollupsReady(ctx context.Context) (bool, error) {
	if s.rollupsReady.Load() {
		return true, nil
	}
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM usage_backlog LIMIT 1`).Scan(&one)
	switch {
	case err == nil:
		return false, nil
	case isNoRows(err):
		s.rollupsReady.Store(true)
		return true, nil
	}
	return false, err
}

// ScanUsageRaw answers q as QueryUsage would without rollups, scanning
// every raw record of the range (and the backlog). It exists to measure
// and check the rollups against (spillway bench usage); the gateway never
// calls it.
func ScanUsageRaw(ctx context.Context, st Store, q UsageQuery) ([]UsageRow, error) {
	s, ok := st.(*sqlStore)
	if !ok {
		return nil, fmt.Errorf("store: scan usage: %T is not a SQL store", st)
	}
	g, ok := usageGroups[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("store: scan usage: %w", errBadGroup(q.GroupBy))
	}
	from, to := usageRange(q)
	groups := map[string]*usageAggregate{}
	for _, table := range []string{"usage_backlog", "usage"} {
		if err := s.scanRaw(ctx, groups, g, q, table, from, to); err != nil {
			return nil, fmt.Errorf("store: scan usage: %w", err)
		}
	}
	return usageRows(groups, g), nil
}
