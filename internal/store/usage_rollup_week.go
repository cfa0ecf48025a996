package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"
)

// Weekly rows are a cache of daily ones, never written by the usage
// writer: CompactUsageWeeks builds, for each closed week, the weekly rows
// of the account cube and the weekly total row from that week's daily
// rows, in one transaction, so a 30-day "by key" reads about four weeks
// of 500 keys instead of 29 days of them.
//
// A week is fresh while its weekly total row's requests equal the sum of
// its daily total rows' requests now. Every writer (of any version) adds
// each record to the daily total cube and the daily account cube in the
// same transaction, counts only grow, and rollup rows are never deleted
// (retention purges raw records only): so a fresh week's weekly account
// rows hold exactly its records. A late record makes the week stale;
// reads then use its daily rows until the next compaction rebuilds it.

const (
	msPerWeek = 7 * msPerDay
	// weekOffset aligns weeks to Monday 00:00 UTC: 1970-01-01 was a
	// Thursday, 1970-01-05 a Monday.
	weekOffset = 4 * msPerDay
)

// weekCubes are the cubes kept per week.
var weekCubes = []uint8{cubeTotal, cubeAccount}

// floorWeek rounds t down to the start of its week; ceilWeek up. The
// extremes, open ends, stay.
func floorWeek(t int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	return floorDiv(t-weekOffset, msPerWeek)*msPerWeek + weekOffset
}

func ceilWeek(t int64) int64 {
	f := floorWeek(t)
	if f == t {
		return t
	}
	return f + msPerWeek
}

// weeklyNeed reports whether a query grouped by g that needs the
// dimensions need may read weekly rows: one of the account cube's and
// not of a time (the weekly total row answers the freshness check only).
func weeklyNeed(g usageGroup, need uint8) bool {
	cube, ok := rollupCube(msPerDay, need)
	return ok && need != 0 && cube == cubeAccount && g.unit == 0 && !g.hourly
}

// weekRequests returns, for the weeks starting in [from, to), the sum of
// their daily total rows' requests and their weekly total rows'.
func (s *sqlStore) weekRequests(ctx context.Context, q querier, from, to int64) (daily, weekly map[int64]int64, err error) {
	rows, err := q.QueryContext(ctx, s.d.rebind(`SELECT span, period, requests FROM usage_rollups
		WHERE cube = ? AND ((span = ? AND period >= ? AND period < ?) OR (span = ? AND period >= ? AND period < ?))`),
		int64(cubeTotal), msPerDay, from, to, msPerWeek, from, to)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	daily, weekly = map[int64]int64{}, map[int64]int64{}
	for rows.Next() {
		var span, period, requests int64
		if err := rows.Scan(&span, &period, &requests); err != nil {
			return nil, nil, err
		}
		if span == msPerWeek {
			weekly[period] = requests
		} else {
			daily[floorWeek(period)] += requests
		}
	}
	return daily, weekly, rows.Err()
}

// freshWeeks returns, ascending, the starts of the whole weeks in
// [from, to) whose weekly rows hold every record of the week now.
func (s *sqlStore) freshWeeks(ctx context.Context, from, to int64) ([]int64, error) {
	if from == math.MinInt64 || to == math.MaxInt64 {
		return nil, nil
	}
	w0, w1 := ceilWeek(from), floorWeek(to)
	if w0 >= w1 {
		return nil, nil
	}
	daily, weekly, err := s.weekRequests(ctx, s.read, w0, w1)
	if err != nil {
		return nil, err
	}
	var fresh []int64
	for w := w0; w < w1; w += msPerWeek {
		if n, ok := weekly[w]; ok && n == daily[w] {
			fresh = append(fresh, w)
		}
	}
	return fresh, nil
}

// CompactUsageWeeks implements Store: it builds the weekly rows of up to
// limit closed weeks (ended by now) that have none or stale ones, newest
// first, and returns how many it built and how many stale weeks are left.
func (s *sqlStore) CompactUsageWeeks(ctx context.Context, now time.Time, limit int) (built, left int, err error) {
	closed := floorWeek(now.UnixMilli())
	daily, weekly, err := s.weekRequests(ctx, s.read, math.MinInt64, closed)
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact usage weeks: %w", err)
	}
	var stale []int64
	for w, n := range daily {
		if got, ok := weekly[w]; !ok || got != n {
			stale = append(stale, w)
		}
	}
	slices.SortFunc(stale, func(a, b int64) int { return cmp.Compare(b, a) })
	for _, w := range stale {
		if built == limit {
			break
		}
		if err := s.buildUsageWeek(ctx, w); err != nil {
			return built, len(stale) - built, fmt.Errorf("store: compact usage weeks: week of %s: %w",
				time.UnixMilli(w).UTC().Format(time.DateOnly), err)
		}
		built++
	}
	return built, len(stale) - built, nil
}

// weekLockKey is the advisory lock that serializes weekly builds on
// PostgreSQL: two replicas rebuilding a week one after the other, each
// replacing the other's rows.
const weekLockKey = `hashtextextended('spillway usage weeks ' || ` + lockScope + `, 0)`

// buildUsageWeek replaces the weekly rows of the week starting at w by
// the merge of its daily rows, read in one statement (one snapshot), in
// one transaction.
func (s *sqlStore) buildUsageWeek(ctx context.Context, w int64) error {
	var upsert *sql.Stmt // SQLite's: the writer's, prepared once
	if !s.d.numbered {
		// Before the transaction, which holds the writer connection.
		stmts, err := s.rowStmts.get(ctx, s)
		if err != nil {
			return err
		}
		upsert = stmts.upsert
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if s.d.numbered {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+weekLockKey+`)`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	tail := "latency_tail"
	if s.noRollupTail {
		tail = "''"
	}
	rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT cube, key_id, team_id, event_id, requests, errors,
		estimated, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
		audio_seconds, cost, max_latency_us, latency_hist, `+tail+` FROM usage_rollups
		WHERE span = ? AND cube IN (?, ?) AND period >= ? AND period < ?`),
		msPerDay, int64(weekCubes[0]), int64(weekCubes[1]), w, w+msPerWeek)
	if err != nil {
		return err
	}
	type merged struct {
		sums rollupSums
		hist []int64
	}
	groups := map[rollupKey]*merged{}
	for rows.Next() {
		var (
			k          = rollupKey{span: msPerWeek, period: w}
			cube       int64
			v          rollupSums
			hist, tail string
		)
		if err := rows.Scan(&cube, &k.key, &k.team, &k.event, &v.requests, &v.errors, &v.estimated,
			&v.prompt, &v.completion, &v.total, &v.cached, &v.reasoning, &v.audio, &v.cost,
			&v.maxLatency, &hist, &tail); err != nil {
			rows.Close()
			return err
		}
		k.cube = uint8(cube)
		m := groups[k]
		if m == nil {
			m = &merged{hist: make([]int64, LatencyBuckets)}
			groups[k] = m
		}
		if err := addHist(m.hist, hist); err != nil {
			rows.Close()
			return err
		}
		if err := addHist(m.hist, tail); err != nil {
			rows.Close()
			return err
		}
		m.sums.merge(&v)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM usage_rollups WHERE span = ? AND period = ?`), msPerWeek, w); err != nil {
		return err
	}
	out := make([]rollupRow, 0, len(groups))
	for k, m := range groups {
		for b, n := range m.hist {
			if n != 0 {
				m.sums.hist = append(m.sums.hist, histCount{bucket: int16(b), count: n})
			}
		}
		out = append(out, rollupRow{k, &m.sums})
	}
	slices.SortFunc(out, func(a, b rollupRow) int { return compareRollupKeys(a.k, b.k) })
	if s.d.numbered {
		if len(out) > 0 {
			if err := s.upsertRollupArrays(ctx, tx, out); err != nil {
				return err
			}
		}
	} else if err := upsertRollupRows(ctx, tx.StmtContext(ctx, upsert), out, make([]any, 0, rollupColumnCount)); err != nil {
		return err
	}
	return tx.Commit()
}
