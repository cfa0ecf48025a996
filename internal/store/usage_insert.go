package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spillwayhq/spillway/internal/usage"
)

const usageColumns = `time, request_id, key_id, event_id, attendee, model, deployment,
	endpoint, status, attempts, stream, latency_us, ttfb_us, latency_bucket,
	prompt_tokens, completion_tokens, total_tokens, estimated, cost, end_user,
	cached_tokens, reasoning_tokens, audio_seconds, team_id, batch_id`

// usageColumnCount is the number of usageColumns.
const usageColumnCount = 25

// usageLeanColumns are usageColumns but those a plain request leaves
// empty: no event, attendee, end user, team or batch, no token details.
// Left out of an INSERT they take their defaults, ” and 0, the values a
// plain record would bind; SQLite binds each parameter in a C call of
// its own and copies each string, so a row of them costs a third less.
const usageLeanColumns = `time, request_id, key_id, model, deployment, endpoint,
	status, attempts, stream, latency_us, ttfb_us, latency_bucket,
	prompt_tokens, completion_tokens, total_tokens, estimated, cost`

// usageLeanColumnCount is the number of usageLeanColumns.
const usageLeanColumnCount = 17

// leanUsage reports whether r stores the same with usageLeanColumns.
func leanUsage(r *usage.Record) bool {
	return r.EventID == "" && r.Attendee == "" && r.User == "" && r.TeamID == "" && r.BatchID == "" &&
		r.CachedTokens == 0 && r.ReasoningTokens == 0 && r.AudioSeconds == 0
}

// usageRowsPerStatement caps a multi-row INSERT's VALUES list (tests
// seed with them): 25,000 parameters stay under SQLite's 32,766. The
// store itself writes a row per prepared statement on SQLite and arrays
// on PostgreSQL.
const usageRowsPerStatement = 1000

// usageQueries are the fixed statements of InsertUsage.
type usageQueries struct {
	// claimBatch records a batch's hash unless it is there already;
	// pruneBatches forgets old ones.
	claimBatch, pruneBatches string
	// upsertRollups adds rows to usage_rollups on PostgreSQL.
	upsertRollups string
}

func newUsageQueries(d dialect) usageQueries {
	return usageQueries{
		claimBatch:    d.rebind(`INSERT INTO usage_batches (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`),
		pruneBatches:  d.rebind(`DELETE FROM usage_batches WHERE created_at < ?`),
		upsertRollups: rollupUpsertSQL(d),
	}
}

// usageInsertSQL returns a multi-row INSERT of n records for d: the
// chunk statement's, with every column bound row by row.
func usageInsertSQL(d dialect, n int) string {
	return d.rebind(chunkShape{}.sql(n))
}

// usageBatchRetention is how long a committed batch's hash is kept: the
// longest a retry of that batch can come after it (a writer waiting out
// an outage, or replaying its spill file after a restart).
const usageBatchRetention = 7 * 24 * time.Hour

// InsertUsage implements Store. The transaction first claims the batch's
// hash in usage_batches; when the hash is already there, an earlier call
// with the same records committed (only its answer was lost), and this
// one writes nothing.
func (s *sqlStore) InsertUsage(ctx context.Context, records []usage.Record) error {
	if len(records) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	// Before taking the write's own connection (usageStatements), which
	// ensuring partitions would otherwise wait beside.
	if err := s.ensureUsagePartitions(ctx, records); err != nil {
		return err
	}
	stmts, err := s.usageStatements(ctx)
	if err != nil {
		return err
	}
	defer stmts.close()
	tx, err := stmts.begin(ctx, s.write)
	if err != nil {
		return fmt.Errorf("store: insert usage: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	res, err := tx.ExecContext(ctx, s.q.usage.claimBatch, usageBatchID(records), now)
	if err != nil {
		return fmt.Errorf("store: insert usage: claim batch: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("store: insert usage: claim batch: %w", err)
		}
		return nil // stored before
	}
	if _, err := tx.ExecContext(ctx, s.q.usage.pruneBatches, now-usageBatchRetention.Milliseconds()); err != nil {
		return fmt.Errorf("store: insert usage: prune batches: %w", err)
	}
	if err := s.insertUsageRows(ctx, tx, stmts, records); err != nil {
		s.usageMissingPartition(err)
		return err
	}
	if err := s.insertPayloads(ctx, tx, records); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: insert usage: commit: %w", err)
	}
	return nil
}

// insertUsageRows appends records to usage and adds them to the rollups,
// inside tx.
func (s *sqlStore) insertUsageRows(ctx context.Context, tx *sql.Tx, stmts usageStatements, records []usage.Record) error {
	if !s.d.numbered {
		return insertUsageRowByRow(ctx, s.d, tx, stmts, records)
	}
	if err := insertUsageArrays(ctx, stmts.conn, records); err != nil {
		return err
	}
	return s.upsertRollupArrays(ctx, tx, rollUp(records))
}

// appendUsageArgs appends r's column values in usageColumns order, as
// rawChunks.appendFull puts them (the one place that order is written).
func appendUsageArgs(args []any, r *usage.Record) []any {
	var c rawChunks
	return c.appendFull(args, r)
}

// costValue is the cost column's value: NULL for NaN and ±Inf, which
// SQLite cannot store.
func costValue(cost float64) any {
	if math.IsNaN(cost) || math.IsInf(cost, 0) {
		return nil
	}
	return cost
}

// allLeanUsage reports whether every record is leanUsage.
func allLeanUsage(records []usage.Record) bool {
	for i := range records {
		if !leanUsage(&records[i]) {
			return false
		}
	}
	return true
}

// finite returns f, or 0 when it is not a finite number.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// usageBatchID is a hash of every field of every record, in order: two
// calls share it only when they carry the same records, which for real
// records (unique request ids, nanosecond times) means a retry.
func usageBatchID(records []usage.Record) string {
	h := sha256.New()
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	for i := range records {
		r := &records[i]
		b = binary.AppendVarint(b[:0], r.Time.Unix())
		b = binary.AppendVarint(b, int64(r.Time.Nanosecond()))
		for _, v := range []string{r.RequestID, r.KeyID, r.EventID, r.Attendee, r.Model, r.Deployment, r.Endpoint, r.User} {
			str(v)
		}
		for _, v := range []int64{int64(r.Status), int64(r.Attempts), int64(r.Latency), int64(r.TTFB),
			int64(r.PromptTokens), int64(r.CompletionTokens), int64(r.TotalTokens)} {
			b = binary.AppendVarint(b, v)
		}
		flag(r.Stream)
		flag(r.Estimated)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Cost))
		// Only records with token details hash them, for the same reason
		// as payloads below.
		if r.CachedTokens != 0 || r.ReasoningTokens != 0 || r.AudioSeconds != 0 {
			b = append(b, 0xfe)
			b = binary.AppendVarint(b, int64(r.CachedTokens))
			b = binary.AppendVarint(b, int64(r.ReasoningTokens))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.AudioSeconds))
		}
		// Likewise only records with a team or a batch hash them.
		if r.TeamID != "" || r.BatchID != "" {
			b = append(b, 0xfd)
			str(r.TeamID)
			str(r.BatchID)
		}
		// Only records with a payload hash one, so the hashes of records
		// without stay what they were before payloads existed, and a batch
		// spilled by an older binary is still recognised on replay.
		if r.Prompt != "" || r.Response != "" {
			b = append(b, 0xff)
			h.Write(b)
			b = b[:0]
			str(r.Prompt)
			str(r.Response)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// text returns s as valid UTF-8 without NUL bytes. PostgreSQL rejects
// both in TEXT, and one bad client-supplied "user" field must not make a
// whole batch fail forever.
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func micros(d time.Duration) int64 { return int64(d / time.Microsecond) }

// insertUsageRowByRow is insertUsageRows on SQLite: chunks of
// usageChunkRows records (of their usageLeanColumns when every one is
// leanUsage) through rawChunks, the rest a row at a time, then the
// rollups (see rowStatements).
func insertUsageRowByRow(ctx context.Context, d dialect, tx *sql.Tx, stmts usageStatements, records []usage.Record) error {
	all := records
	whole := len(records) - len(records)%usageChunkRows
	if whole > 0 {
		err := stmts.conn.Raw(func(dc any) error {
			return stmts.chunks.exec(ctx, dc, records[:whole])
		})
		if err != nil {
			return err
		}
		records = records[whole:]
	}
	ins, up := tx.StmtContext(ctx, stmts.insert), tx.StmtContext(ctx, stmts.upsert)
	args := make([]any, 0, max(usageColumnCount, rollupColumnCount))
	for i := range records {
		args = appendUsageArgs(args[:0], &records[i])
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: insert usage: %w", err)
		}
	}
	if err := upsertRollupRows(ctx, up, rollUp(all), args); err != nil {
		return fmt.Errorf("store: insert usage: rollups: %w", err)
	}
	return nil
}
