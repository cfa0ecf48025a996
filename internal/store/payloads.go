package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// Payload is the logged prompt and answer of one request, kept only when
// prompt logging applied to it.
type Payload struct {
	RequestID string
	Time      time.Time // the request's arrival, UTC, to the millisecond
	KeyID     string
	Model     string
	Prompt    string
	Response  string
}

// PayloadQuery selects payloads for ListPayloads.
type PayloadQuery struct {
	// From and To bound Time: From ≤ Time < To, at millisecond precision.
	// A zero From or To leaves that side open.
	From, To time.Time
	// KeyID and Model keep only the payloads that match; "" keeps all.
	KeyID, Model string
	// Limit caps how many are returned: default DefaultPayloadLimit, at
	// most MaxPayloadLimit (a larger value is capped).
	Limit int
}

// Limits of PayloadQuery.Limit.
const (
	DefaultPayloadLimit = 100
	MaxPayloadLimit     = 1000
)

const payloadColumns = `request_id, time, key_id, model, prompt, response`

// payloadStatementBytes caps the prompt and response text one INSERT
// carries, and payloadRowsPerStatement its rows: with prompts of up to
// usage.MaxPayloadBytes each, a batch of records can hold a gigabyte,
// more than one PostgreSQL message may.
const (
	payloadStatementBytes   = 16 << 20
	payloadRowsPerStatement = 1000
)

// purgeBatch is how many payloads one DELETE of PurgePayloads removes, so
// a first purge of a large table does not hold SQLite's write lock, or a
// PostgreSQL transaction, for the whole of it.
const purgeBatch = 1000

// payloadQueries are the fixed statements of the payload methods.
type payloadQueries struct {
	get, purge string
}

func newPayloadQueries(d dialect) payloadQueries {
	return payloadQueries{
		get: d.rebind(`SELECT ` + payloadColumns + ` FROM usage_payloads WHERE request_id = ?`),
		purge: d.rebind(fmt.Sprintf(`DELETE FROM usage_payloads WHERE request_id IN
			(SELECT request_id FROM usage_payloads WHERE time < ? LIMIT %d)`, purgeBatch)),
	}
}

// hasPayload reports whether r carries a payload to store: prompt or
// response text, and a request id to find it by.
func hasPayload(r *usage.Record) bool {
	return r.RequestID != "" && (r.Prompt != "" || r.Response != "")
}

// insertPayloads stores the payloads of records in tx, InsertUsage's
// transaction, so the batch's claim covers them too. A request id stored
// before keeps its first payload.
func (s *sqlStore) insertPayloads(ctx context.Context, tx *sql.Tx, records []usage.Record) error {
	var (
		args  []any
		rows  int
		bytes int
	)
	flush := func() error {
		if rows == 0 {
			return nil
		}
		row := "(?, ?, ?, ?, ?, ?)"
		query := "INSERT INTO usage_payloads (" + payloadColumns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ") +
			" ON CONFLICT (request_id) DO NOTHING"
		if _, err := tx.ExecContext(ctx, s.d.rebind(query), args...); err != nil {
			return fmt.Errorf("store: insert usage: payloads: %w", err)
		}
		args, rows, bytes = args[:0], 0, 0
		return nil
	}
	for i := range records {
		r := &records[i]
		if !hasPayload(r) {
			continue
		}
		size := len(r.Prompt) + len(r.Response)
		if rows == payloadRowsPerStatement || (rows > 0 && bytes+size > payloadStatementBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		args = append(args, text(r.RequestID), r.Time.UnixMilli(), text(r.KeyID), text(r.Model), text(r.Prompt), text(r.Response))
		rows++
		bytes += size
	}
	return flush()
}

// Payload implements Store.
func (s *sqlStore) Payload(ctx context.Context, requestID string) (Payload, error) {
	p, err := queryOne(ctx, s.read, scanPayload, s.q.payloads.get, requestID)
	if err != nil {
		return Payload{}, fmt.Errorf("store: payload %q: %w", requestID, err)
	}
	return p, nil
}

// ListPayloads implements Store. Payloads come newest first, ties by
// request id, descending.
func (s *sqlStore) ListPayloads(ctx context.Context, q PayloadQuery) ([]Payload, error) {
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPayloadLimit
	}
	limit = min(limit, MaxPayloadLimit)

	var b strings.Builder
	b.WriteString(`SELECT ` + payloadColumns + ` FROM usage_payloads WHERE time >= ? AND time < ?`)
	args := []any{from, to}
	for _, f := range []struct{ column, value string }{{"key_id", q.KeyID}, {"model", q.Model}} {
		if f.value != "" {
			b.WriteString(" AND " + f.column + " = ?")
			args = append(args, f.value)
		}
	}
	fmt.Fprintf(&b, " ORDER BY time DESC, request_id%s DESC LIMIT %d", s.d.byteOrder, limit)
	out, err := queryAll(ctx, s.read, scanPayload, s.d.rebind(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list payloads: %w", err)
	}
	return out, nil
}

// PurgePayloads implements Store, a batch of purgeBatch rows at a time.
// When ctx ends part way, the count of the batches done comes with the
// error.
func (s *sqlStore) PurgePayloads(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.write.ExecContext(ctx, s.q.payloads.purge, before.UnixMilli())
		if err != nil {
			return total, fmt.Errorf("store: purge payloads: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: purge payloads: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

func scanPayload(row rowScanner) (Payload, error) {
	var (
		p  Payload
		ms int64
	)
	if err := row.Scan(&p.RequestID, &ms, &p.KeyID, &p.Model, &p.Prompt, &p.Response); err != nil {
		return Payload{}, err
	}
	p.Time = fromMillis(ms)
	return p, nil
}
