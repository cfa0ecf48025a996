package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/spillwayhq/spillway/internal/usage"
)

// usageCopyColumns are usageColumns for COPY, in the same order.
var usageCopyColumns = []string{"time", "request_id", "key_id", "event_id", "attendee", "model",
	"deployment", "endpoint", "status", "attempts", "stream", "latency_us", "ttfb_us", "latency_bucket",
	"prompt_tokens", "completion_tokens", "total_tokens", "estimated", "cost", "end_user",
	"cached_tokens", "reasoning_tokens", "audio_seconds", "team_id", "batch_id"}

// insertUsageArrays appends records to usage on PostgreSQL with COPY (in
// binary) on conn, the connection the write's transaction runs on, so
// inside that transaction (usageStatements): no statement
// to parse or plan and no parameters to bind, which made the raw rows of
// a batch of 10,000 several times cheaper than one INSERT of arrays.
func insertUsageArrays(ctx context.Context, conn *sql.Conn, records []usage.Record) error {
	if conn == nil {
		return fmt.Errorf("store: insert usage: no connection to copy on") // usageStatements gives one on PostgreSQL
	}
	rows := make([][]any, len(records))
	vals := make([]any, len(records)*len(usageCopyColumns))
	for i := range records {
		r := &records[i]
		var cost any // NULL for NaN and ±Inf, as appendUsageArgs
		if !math.IsNaN(r.Cost) && !math.IsInf(r.Cost, 0) {
			cost = r.Cost
		}
		row := vals[i*len(usageCopyColumns) : (i+1)*len(usageCopyColumns) : (i+1)*len(usageCopyColumns)]
		row = append(row[:0],
			r.Time.UnixMilli(), text(r.RequestID), text(r.KeyID), text(r.EventID),
			text(r.Attendee), text(r.Model), text(r.Deployment), text(r.Endpoint),
			int64(r.Status), int64(r.Attempts), r.Stream, micros(r.Latency), micros(r.TTFB),
			int16(LatencyBucket(r.Latency)), int64(r.PromptTokens), int64(r.CompletionTokens),
			int64(r.TotalTokens), r.Estimated, cost, text(r.User),
			int64(r.CachedTokens), int64(r.ReasoningTokens), finite(r.AudioSeconds),
			text(r.TeamID), text(r.BatchID))
		rows[i] = row
	}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection is %T, not pgx's", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"usage"}, usageCopyColumns, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: insert usage: %w", err)
	}
	return nil
}
