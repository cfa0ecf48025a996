package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
)

// maxAuditPage is the largest page QueryAudit returns.
const maxAuditPage = 1000

// auditSeq orders the entries one process appends within a millisecond.
// It starts at a random value so that two replicas' ids differ.
var auditSeq = func() *atomic.Uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var n atomic.Uint64
	n.Store(binary.BigEndian.Uint64(b[:]) >> 1)
	return &n
}()

// auditID is an id that sorts as the entries' times do: the time in unix
// milliseconds, zero-padded, then a sequence number, so that entries of
// one millisecond from one replica keep their order and those of two
// replicas differ. The cursor of a page is its last id.
func auditID(ms int64) string {
	return fmt.Sprintf("%016d%016x", ms, auditSeq.Add(1))
}

// AppendAudit implements IdentityStore. Entries do not bump the
// revision: nothing a replica serves depends on them.
func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if e.At.IsZero() {
		e.At = s.timestamp()
	}
	e.At = storedTime(e.At)
	e.ID = auditID(e.At.UnixMilli())
	_, err := s.write.ExecContext(ctx, s.q.identity.auditInsert, e.ID, e.At.UnixMilli(), e.Actor, e.Role,
		e.Address, e.Resource, e.ResourceID, e.Action, e.Status, nullJSON(e.Before), nullJSON(e.After))
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit entry: %w", err)
	}
	return e, nil
}

// QueryAudit implements IdentityStore.
func (s *sqlStore) QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxAuditPage {
		limit = maxAuditPage
	}
	var (
		where []string
		args  []any
	)
	add := func(clause string, v any) {
		where = append(where, clause)
		args = append(args, v)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Resource != "" {
		add("resource = ?", q.Resource)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if !q.From.IsZero() {
		add("at >= ?", q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		add("at < ?", q.To.UnixMilli())
	}
	if q.After != "" {
		add("id"+s.d.byteOrder+" < ?", q.After)
	}
	query := s.q.identity.auditSelect
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// One more than the page, to know whether another page follows.
	query += " ORDER BY id" + s.d.byteOrder + " DESC LIMIT " + fmt.Sprint(limit+1)
	out, err := queryAll(ctx, s.read, scanAudit, s.d.rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: query audit: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

func scanAudit(row rowScanner) (AuditEntry, error) {
	var (
		e             AuditEntry
		at            int64
		before, after sql.NullString
	)
	err := row.Scan(&e.ID, &at, &e.Actor, &e.Role, &e.Address, &e.Resource, &e.ResourceID, &e.Action,
		&e.Status, &before, &after)
	if err != nil {
		return AuditEntry{}, err
	}
	e.At = fromMillis(at)
	if before.Valid {
		e.Before = []byte(before.String)
	}
	if after.Valid {
		e.After = []byte(after.String)
	}
	return e, nil
}

// nullJSON is a JSON column: NULL when there is no document.
func nullJSON(b []byte) sql.NullString {
	if len(b) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}
