package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/spillwayhq/spillway/internal/usage"
)

// usageArraysSQL inserts raw records on PostgreSQL from one array per
// column: 25 parameters for any number of records, instead of 25 per
// record, which pgx encodes and PostgreSQL binds and plans far faster.
const usageArraysSQL = `INSERT INTO usage (` + usageColumns + `) SELECT * FROM unnest(
	$1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::bigint[], $10::bigint[], $11::boolean[], $12::bigint[], $13::bigint[], $14::smallint[],
	$15::bigint[], $16::bigint[], $17::bigint[], $18::boolean[], $19::float8[], $20::text[],
	$21::bigint[], $22::bigint[], $23::float8[], $24::text[], $25::text[])`

// insertUsageArrays appends records to usage on PostgreSQL.
func insertUsageArrays(ctx context.Context, tx *sql.Tx, records []usage.Record) error {
	n := len(records)
	var (
		times, status, attempts, latency, ttfb  = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		prompt, completion, total, cached, reas = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		bucket                                  = make([]int64, n)
		requestID, key, event, attendee, model  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		deployment, endpoint, user, team, batch = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		stream, estimated                       = make([]bool, n), make([]bool, n)
		cost                                    = make([]*float64, n)
		audio                                   = make([]float64, n)
	)
	for i := range records {
		r := &records[i]
		times[i], status[i], attempts[i] = r.Time.UnixMilli(), int64(r.Status), int64(r.Attempts)
		latency[i], ttfb[i], bucket[i] = micros(r.Latency), micros(r.TTFB), int64(LatencyBucket(r.Latency))
		prompt[i], completion[i], total[i] = int64(r.PromptTokens), int64(r.CompletionTokens), int64(r.TotalTokens)
		cached[i], reas[i], audio[i] = int64(r.CachedTokens), int64(r.ReasoningTokens), finite(r.AudioSeconds)
		requestID[i], key[i], event[i], attendee[i] = text(r.RequestID), text(r.KeyID), text(r.EventID), text(r.Attendee)
		model[i], deployment[i], endpoint[i], user[i] = text(r.Model), text(r.Deployment), text(r.Endpoint), text(r.User)
		team[i], batch[i] = text(r.TeamID), text(r.BatchID)
		stream[i], estimated[i] = r.Stream, r.Estimated
		if !math.IsNaN(r.Cost) && !math.IsInf(r.Cost, 0) {
			c := r.Cost
			cost[i] = &c // NULL otherwise, as appendUsageArgs
		}
	}
	_, err := tx.ExecContext(ctx, usageArraysSQL, times, requestID, key, event, attendee, model,
		deployment, endpoint, status, attempts, stream, latency, ttfb, bucket, prompt, completion,
		total, estimated, cost, user, cached, reas, audio, team, batch)
	if err != nil {
		return fmt.Errorf("store: insert usage: %w", err)
	}
	return nil
}
