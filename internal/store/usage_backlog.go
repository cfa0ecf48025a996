package store

import (
	"context"
	"fmt"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// usageBacklogChunk is how much of the backlog one RollUpUsageBacklog
// call moves: an hour of records, so a chunk stays one short transaction
// at any traffic a single hour of a real gateway held.
const usageBacklogChunk = msPerHour

// RollUpUsageBacklog implements Store. One transaction deletes the
// backlog's oldest hour, RETURNING its rows, and writes them to usage
// and the rollups: a replica doing the same at once waits on the delete
// and then finds no rows, so no record is counted twice.
func (s *sqlStore) RollUpUsageBacklog(ctx context.Context) (moved int64, err error) {
	var oldest *int64
	if err := s.write.QueryRowContext(ctx, `SELECT MIN(time) FROM usage_backlog`).Scan(&oldest); err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
	}
	if oldest == nil {
		s.rollupsReady.Store(true)
		return 0, nil
	}
	from := floorDiv(*oldest, usageBacklogChunk) * usageBacklogChunk
	if err := s.ensureUsageDays(ctx, floorDiv(from, usagePartitionSpan)); err != nil {
		return 0, err
	}
	stmts, err := s.usageStatements(ctx)
	if err != nil {
		return 0, err
	}
	defer stmts.close()
	tx, err := stmts.begin(ctx, s.write)
	if err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	rows, err := tx.QueryContext(ctx, s.d.rebind(`DELETE FROM usage_backlog WHERE time >= ? AND time < ? RETURNING `+usageColumns),
		from, from+usageBacklogChunk)
	if err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
	}
	var records []usage.Record
	for rows.Next() {
		r, err := scanUsageRecord(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
		}
		records = append(records, r)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: %w", err)
	}
	if len(records) > 0 {
		if err := s.insertUsageRows(ctx, tx, stmts, records); err != nil {
			s.usageMissingPartition(err)
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: roll up usage backlog: commit: %w", err)
	}
	// An empty hour moved nothing but was not the end: report one so the
	// caller goes on (the next call finds the next hour or none).
	return max(int64(len(records)), 1), nil
}

// UsageBacklog implements Store.
func (s *sqlStore) UsageBacklog(ctx context.Context) (int64, error) {
	if s.rollupsReady.Load() {
		return 0, nil
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_backlog`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count usage backlog: %w", err)
	}
	if n == 0 {
		s.rollupsReady.Store(true)
	}
	return n, nil
}

// scanUsageRecord reads a row of usageColumns.
func scanUsageRecord(row rowScanner) (usage.Record, error) {
	var (
		r                    usage.Record
		t, latency, ttfb     int64
		bucket               int
		status, attempts     int64
		prompt, completion   int64
		total, cached, reasn int64
		cost                 *float64
	)
	err := row.Scan(&t, &r.RequestID, &r.KeyID, &r.EventID, &r.Attendee, &r.Model, &r.Deployment,
		&r.Endpoint, &status, &attempts, &r.Stream, &latency, &ttfb, &bucket,
		&prompt, &completion, &total, &r.Estimated, &cost, &r.User,
		&cached, &reasn, &r.AudioSeconds, &r.TeamID, &r.BatchID)
	if err != nil {
		return r, err
	}
	r.Time = time.UnixMilli(t).UTC()
	r.Status, r.Attempts = int(status), int(attempts)
	r.Latency, r.TTFB = time.Duration(latency)*time.Microsecond, time.Duration(ttfb)*time.Microsecond
	if LatencyBucket(r.Latency) < bucket {
		// The record's latency had a fraction of a microsecond, which put
		// it in the next bucket; a nanosecond more keeps it there, so its
		// rollups match its raw row.
		r.Latency++
	}
	r.PromptTokens, r.CompletionTokens, r.TotalTokens = int(prompt), int(completion), int(total)
	r.CachedTokens, r.ReasoningTokens = int(cached), int(reasn)
	if cost != nil {
		r.Cost = *cost
	}
	return r, nil
}
