package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

const keyColumns = `id, hash, prefix, name, owner, team, models, rpm, tpm, max_tokens,
	budget_tokens, budget_cost, budget_period, expires_at, revoked_at, log_payloads,
	metadata, event_id, attendee, generation, team_id, max_parallel_requests, created_at, updated_at`

// keyQueries are the statements of the key methods, rebound at Open.
type keyQueries struct {
	list, listEvent, listTeam, get, byHash, attendee, insert, update, delete string
}

func newKeyQueries(d dialect) keyQueries {
	return keyQueries{
		list:      `SELECT ` + keyColumns + ` FROM keys ORDER BY id` + d.byteOrder,
		listEvent: d.rebind(`SELECT ` + keyColumns + ` FROM keys WHERE event_id = ? ORDER BY id` + d.byteOrder),
		listTeam:  d.rebind(`SELECT ` + keyColumns + ` FROM keys WHERE team_id = ? ORDER BY id` + d.byteOrder),
		get:       d.rebind(`SELECT ` + keyColumns + ` FROM keys WHERE id = ?`),
		byHash:    d.rebind(`SELECT ` + keyColumns + ` FROM keys WHERE hash = ?`),
		// event_id <> '' keeps keys without an event out, and matches the
		// partial unique index.
		attendee: d.rebind(`SELECT ` + keyColumns + ` FROM keys WHERE event_id = ? AND attendee = ? AND event_id <> ''`),
		insert: d.rebind(`INSERT INTO keys (` + keyColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		update: d.rebind(`UPDATE keys SET hash = ?, prefix = ?, name = ?, owner = ?, team = ?,
			models = ?, rpm = ?, tpm = ?, max_tokens = ?, budget_tokens = ?, budget_cost = ?,
			budget_period = ?, expires_at = ?, revoked_at = ?, log_payloads = ?, metadata = ?,
			event_id = ?, attendee = ?, generation = ?, team_id = ?, max_parallel_requests = ?, updated_at = ?
			WHERE id = ? RETURNING created_at`),
		delete: d.rebind(`DELETE FROM keys WHERE id = ?`),
	}
}

// CreateKey implements AccessStore.
func (s *sqlStore) CreateKey(ctx context.Context, k Key) (Key, error) {
	if k.ID == "" {
		return Key{}, errors.New("store: create key: empty id")
	}
	k = normalizeKey(k)
	k.CreatedAt = s.timestamp()
	k.UpdatedAt = k.CreatedAt
	fields, err := keyFields(k)
	if err == nil {
		args := append([]any{k.ID}, fields...)
		args = append(args, k.CreatedAt.UnixMilli(), k.UpdatedAt.UnixMilli())
		err = s.change(ctx, func(tx *sql.Tx) error {
			if err := s.lockTeam(ctx, tx, k.TeamID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.q.keys.insert, args...)
			if s.d.isConflict(err) {
				return ErrConflict
			}
			return err
		})
	}
	if err != nil {
		return Key{}, fmt.Errorf("store: create key %q: %w", k.ID, err)
	}
	return k, nil
}

// GetKey implements AccessStore.
func (s *sqlStore) GetKey(ctx context.Context, id string) (Key, error) {
	k, err := queryOne(ctx, s.read, scanKey, s.q.keys.get, id)
	if err != nil {
		return Key{}, fmt.Errorf("store: get key %q: %w", id, err)
	}
	return k, nil
}

// KeyByHash implements AccessStore.
func (s *sqlStore) KeyByHash(ctx context.Context, hash []byte) (Key, error) {
	k, err := queryOne(ctx, s.read, scanKey, s.q.keys.byHash, hex.EncodeToString(hash))
	if err != nil {
		// Not the hash itself: error messages end up in logs.
		return Key{}, fmt.Errorf("store: key by hash: %w", err)
	}
	return k, nil
}

// AttendeeKey implements AccessStore.
func (s *sqlStore) AttendeeKey(ctx context.Context, eventID, attendee string) (Key, error) {
	k, err := queryOne(ctx, s.read, scanKey, s.q.keys.attendee, eventID, attendee)
	if err != nil {
		return Key{}, fmt.Errorf("store: key of attendee %q of event %q: %w", attendee, eventID, err)
	}
	return k, nil
}

// ListKeys implements AccessStore.
func (s *sqlStore) ListKeys(ctx context.Context, f KeyFilter) ([]Key, error) {
	query, args := s.q.keys.list, []any(nil)
	switch {
	case f.EventID != "" && f.TeamID != "":
		return nil, errors.New("store: list keys: filter by an event or a team, not both")
	case f.EventID != "":
		query, args = s.q.keys.listEvent, []any{f.EventID}
	case f.TeamID != "":
		query, args = s.q.keys.listTeam, []any{f.TeamID}
	}
	out, err := queryAll(ctx, s.read, scanKey, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	return out, nil
}

// UpdateKey implements AccessStore.
func (s *sqlStore) UpdateKey(ctx context.Context, k Key) (Key, error) {
	k = normalizeKey(k)
	k.UpdatedAt = s.timestamp()
	var created int64
	fields, err := keyFields(k)
	if err == nil {
		err = s.change(ctx, func(tx *sql.Tx) error {
			if err := s.lockTeam(ctx, tx, k.TeamID); err != nil {
				return err
			}
			err := tx.QueryRowContext(ctx, s.q.keys.update, append(fields, k.UpdatedAt.UnixMilli(), k.ID)...).Scan(&created)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return ErrNotFound
			case s.d.isConflict(err):
				return ErrConflict
			}
			return err
		})
	}
	if err != nil {
		return Key{}, fmt.Errorf("store: update key %q: %w", k.ID, err)
	}
	k.CreatedAt = fromMillis(created)
	return k, nil
}

// DeleteKey implements AccessStore.
func (s *sqlStore) DeleteKey(ctx context.Context, id string) error {
	err := s.change(ctx, func(tx *sql.Tx) error {
		return changeOne(ctx, tx, s.q.keys.delete, id)
	})
	if err != nil {
		return fmt.Errorf("store: delete key %q: %w", id, err)
	}
	return nil
}

// execer runs a statement: a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// changeOne runs a statement that changes (or deletes, or locks) at most
// one row, returning ErrNotFound when it changed none.
func changeOne(ctx context.Context, db execer, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// normalizeKey returns k as a later read returns it: times in UTC to the
// millisecond, empty lists and maps nil.
func normalizeKey(k Key) Key {
	k.ExpiresAt, k.RevokedAt = storedTime(k.ExpiresAt), storedTime(k.RevokedAt)
	if len(k.Models) == 0 {
		k.Models = nil
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
	return k
}

// keyFields returns the column values from hash to team_id, in the
// order of keyColumns.
func keyFields(k Key) ([]any, error) {
	if len(k.Hash) != sha256.Size {
		// Also what keeps a plaintext key out of the hash column.
		return nil, fmt.Errorf("hash is %d bytes, want %d (SHA-256)", len(k.Hash), sha256.Size)
	}
	models, err := jsonColumn(k.Models)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	metadata, err := jsonColumn(k.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return []any{
		hex.EncodeToString(k.Hash), k.Prefix, k.Name, k.Owner, k.Team, models, k.RPM, k.TPM,
		k.MaxTokens, k.BudgetTokens, k.BudgetCost, k.BudgetPeriod, millisColumn(k.ExpiresAt),
		millisColumn(k.RevokedAt), k.LogPayloads, metadata, k.EventID, k.Attendee, k.Generation, k.TeamID,
		k.MaxParallel,
	}, nil
}

// scanKey reads one row in keyColumns order.
func scanKey(row rowScanner) (Key, error) {
	var (
		k                Key
		hash             string
		models, metadata sql.NullString
		expires, revoked sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&k.ID, &hash, &k.Prefix, &k.Name, &k.Owner, &k.Team, &models, &k.RPM,
		&k.TPM, &k.MaxTokens, &k.BudgetTokens, &k.BudgetCost, &k.BudgetPeriod, &expires,
		&revoked, &k.LogPayloads, &metadata, &k.EventID, &k.Attendee, &k.Generation,
		&k.TeamID, &k.MaxParallel, &created, &updated)
	if err != nil {
		return Key{}, err
	}
	if k.Hash, err = hex.DecodeString(hash); err != nil {
		return Key{}, fmt.Errorf("key %q: hash: %w", k.ID, err)
	}
	if err := scanJSON(models, &k.Models); err != nil {
		return Key{}, fmt.Errorf("key %q: models: %w", k.ID, err)
	}
	if err := scanJSON(metadata, &k.Metadata); err != nil {
		return Key{}, fmt.Errorf("key %q: metadata: %w", k.ID, err)
	}
	k.ExpiresAt, k.RevokedAt = fromNullMillis(expires), fromNullMillis(revoked)
	k.CreatedAt, k.UpdatedAt = fromMillis(created), fromMillis(updated)
	return k, nil
}

// jsonColumn encodes a list or map as JSON, NULL when it is empty.
func jsonColumn(v any) (sql.NullString, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	switch string(b) {
	case "null", "[]", "{}":
		return sql.NullString{}, nil
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// scanJSON decodes a column jsonColumn wrote; NULL leaves dst as it is.
func scanJSON(col sql.NullString, dst any) error {
	if !col.Valid {
		return nil
	}
	return json.Unmarshal([]byte(col.String), dst)
}
