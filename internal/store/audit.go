package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxAuditPage is the largest page QueryAudit returns.
const maxAuditPage = 1000

// auditID is an id that sorts as the entries' times do: the time in unix
// milliseconds, zero-padded, then random bytes so that two entries of
// one millisecond differ. The cursor of a page is its last id.
func auditID(ms int64) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016d%s", ms, hex.EncodeToString(b[:]))
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
