package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
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
	var weeks []int64
	if weeklyNeed(g, need) {
		if weeks, err = s.freshWeeks(ctx, from, to); err != nil {
			return err
		}
	}
	reads := planReads(from, to, g.hourly, need, true, weeks)
	if f := s.planned.Load(); f != nil {
		(*f)(reads)
	}
	parts, overflow, err := s.runReads(ctx, g, q, reads)
	if err != nil {
		return err
	}
	if overflow {
		if parts, _, err = s.runReads(ctx, g, q, planReads(from, to, g.hourly, need, false, weeks)); err != nil {
			return err
		}
	}
	for _, part := range parts {
		for k, a := range part {
			aggregateOf(groups, k).merge(a)
		}
	}
	// A group whose records were all in subtracted parts is left with
	// none; every other group counts at least one (a rollup row or a raw
	// group holds one or more records).
	for k, a := range groups {
		if a.sum.requests == 0 {
			delete(groups, k)
		}
	}
	return nil
}

// runReads runs reads at once, each on its own connection and into its
// own groups, and reports whether a subtracted part held a latency past
// the last bucket: the groups must then not be used (see scanRollups).
// The raw records at a range's ends and the rollups are read by separate
// server processes while this one decodes.
func (s *sqlStore) runReads(ctx context.Context, g usageGroup, q UsageQuery, reads []usageRead) ([]map[string]*usageAggregate, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		out      = make([]map[string]*usageAggregate, len(reads))
		errs     = make([]error, len(reads))
		overflow atomic.Bool
	)
	for i, r := range reads {
		out[i] = map[string]*usageAggregate{}
		wg.Go(func() {
			over, err := s.scanRollups(ctx, out[i], g, q, r...)
			if err != nil {
				errs[i] = err
				cancel()
			}
			if over {
				overflow.Store(true)
			}
		})
	}
	wg.Wait()
	// The error that failed the query, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, false, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, false, err
	}
	return out, overflow.Load(), nil
}

// dayMinusHours returns the day holding the hour segment seg and the
// hours of that day outside seg, when seg is more than half a day: its
// rollups are then the day's row less fewer hourly rows than seg has.
// "By key" over 30 days ending at 00:37 reads 500 rows for its first day
// and subtracts 500, instead of adding 23 × 500.
func dayMinusHours(seg usageSegment) (day usageSegment, minus []usageSegment, ok bool) {
	if seg.span != msPerHour || seg.from == math.MinInt64 || seg.to == math.MaxInt64 {
		return usageSegment{}, nil, false
	}
	d0 := floorTo(seg.from, msPerDay)
	d1 := d0 + msPerDay
	if seg.to > d1 || seg.to-seg.from <= msPerDay/2 {
		return usageSegment{}, nil, false
	}
	for _, m := range []usageSegment{{msPerHour, d0, seg.from}, {msPerHour, seg.to, d1}} {
		if m.from < m.to {
			minus = append(minus, m)
		}
	}
	return usageSegment{msPerDay, d0, d1}, minus, true
}

// rollupPart is a segment's rows of a cube, added (sign 1) or
// subtracted (-1).
type rollupPart struct {
	seg  usageSegment
	cube uint8
	sign int64
}

// rawPartSQL writes the raw records of seg as rollup rows to b, after
// the sign: one row per group and latency bucket, whose histogram is
// that one bucket, so that a statement can subtract them from rollups.
func (s *sqlStore) rawPartSQL(b *strings.Builder, args []any, g usageGroup, q UsageQuery, seg usageSegment) []any {
	expr := g.expr
	if g.unit != 0 && seg.from != math.MinInt64 && seg.to != math.MaxInt64 && seg.from/g.unit == (seg.to-1)/g.unit {
		// One day or hour, as a range's partial hours are: its number,
		// not an expression to group by, which PostgreSQL expects to
		// have as many values as rows and so sorts them (400 ms for
		// 23 minutes at 100 million records a month, under load).
		// Go's division truncates as SQL's does.
		b.WriteString(strconv.FormatInt(seg.from/g.unit, 10) + ", ")
		expr = ""
	} else if expr != "" {
		b.WriteString(expr + ", ")
	}
	// CAST keeps PostgreSQL's SUM of BIGINT, a NUMERIC, an integer.
	b.WriteString(`COUNT(*), CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT),
		CAST(SUM(total_tokens) AS BIGINT), COALESCE(SUM(cost), 0), MAX(latency_us),
		CAST(latency_bucket AS TEXT) || ':' || CAST(COUNT(*) AS TEXT), ''
		FROM usage WHERE time >= ? AND time < ?`)
	args = append(args, seg.from, seg.to)
	for _, f := range usageFilters(q) {
		b.WriteString(" AND " + f.column + " = ?")
		args = append(args, f.value)
	}
	b.WriteString(" GROUP BY ")
	if expr != "" {
		b.WriteString(expr + ", ")
	}
	b.WriteString("latency_bucket")
	return args
}

// scanRollups adds the rollup rows of parts, each times its sign, to
// groups, in one statement; a part of span 0 is raw records, read as
// rollup rows (see rawPartSQL). It reports whether a subtracted row holds a
// latency past the last bucket, whose group's longest latency is then
// unknown: the caller must not use groups.
func (s *sqlStore) scanRollups(ctx context.Context, groups map[string]*usageAggregate, g usageGroup, q UsageQuery, parts ...rollupPart) (subtractedOverflow bool, err error) {
	var (
		b    strings.Builder
		args []any
	)
	for i, p := range parts {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT %d, ", p.sign)
		if p.seg.span == 0 {
			args = s.rawPartSQL(&b, args, g, q, p.seg)
			continue
		}
		if g.rollupExpr != "" {
			b.WriteString(g.rollupExpr + ", ")
		}
		tail := "latency_tail"
		if s.noRollupTail {
			tail = "''"
		}
		b.WriteString(`requests, errors, prompt_tokens, completion_tokens, total_tokens, cost,
		max_latency_us, latency_hist, ` + tail + ` FROM usage_rollups
		WHERE span = ? AND cube = ? AND period >= ? AND period < ?`)
		args = append(args, p.seg.span, int64(p.cube), p.seg.from, p.seg.to)
		for _, f := range usageFilters(q) {
			b.WriteString(" AND " + f.column + " = ?")
			args = append(args, f.value)
		}
	}
	var (
		sign, num  int64
		text       string
		sums       usageBucket
		maxLatency int64
		hist, tail []byte
	)
	last, _ := LatencyBucketBound(LatencyBuckets - 2)
	dest := make([]any, 0, 11)
	dest = append(dest, &sign)
	switch {
	case g.label != nil:
		dest = append(dest, &num)
	case g.rollupExpr != "":
		dest = append(dest, &text)
	}
	dest = append(dest, &sums.requests, &sums.errors, &sums.prompt, &sums.completion, &sums.total, &sums.cost, &maxLatency)
	add := func() error {
		if g.label != nil {
			text = g.label(num)
		}
		a := aggregateOf(groups, text)
		overflow := a.hist[LatencyBuckets-1]
		if err := addHistTimes(a.hist, hist, sign); err != nil {
			return err
		}
		if err := addHistTimes(a.hist, tail, sign); err != nil {
			return err
		}
		if sign < 0 {
			if time.Duration(maxLatency)*time.Microsecond > last {
				subtractedOverflow = true
			}
			sums = sums.neg()
		} else if a.hist[LatencyBuckets-1] != overflow {
			a.overflowMax = max(a.overflowMax, time.Duration(maxLatency)*time.Microsecond)
		}
		a.addSums(sums)
		return nil
	}
	query := s.d.rebind(b.String())
	if s.d.numbered {
		return subtractedOverflow, s.eachPostgresRow(ctx, query, args, dest, &hist, &tail, add)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var rawHist, rawTail sql.RawBytes
	dest = append(dest, &rawHist, &rawTail)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return false, err
		}
		hist, tail = rawHist, rawTail
		if err := add(); err != nil {
			return false, err
		}
	}
	return subtractedOverflow, rows.Err()
}

// eachPostgresRow runs query with pgx itself on a connection of the pool,
// scans each row's leading columns into dest and points *hist and *tail
// at its last two, as received, then calls each. Through database/sql a
// rollup row's ten values cost more than PostgreSQL takes to send them;
// "by key" over 30 days reads 15,500 rows.
func (s *sqlStore) eachPostgresRow(ctx context.Context, query string, args, dest []any, hist, tail *[]byte, each func() error) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection is %T, not pgx's", dc)
		}
		rows, err := c.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := append(dest, nil, nil) // the histograms: read raw below
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			raw := rows.RawValues()
			*hist, *tail = raw[len(raw)-2], raw[len(raw)-1]
			if err := each(); err != nil {
				return err
			}
		}
		return rows.Err()
	})
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
