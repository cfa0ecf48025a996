package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// sqlStore is the Store for every SQL database; d holds what differs.
type sqlStore struct {
	// read and write are the same pool except on SQLite, which has one
	// writer connection and a few readers.
	read, write *sql.DB
	d           dialect
	q           queries
	sealer      sealer
	now         func() time.Time
	log         *slog.Logger
	// rollupsReady is set once usage_backlog is seen empty.
	rollupsReady atomic.Bool
	// noRollupTail is set on a schema migrated short of
	// rollupTailVersion (tests of upgrades only).
	noRollupTail bool
	// rowStmts are SQLite's prepared usage writes.
	rowStmts rowStatements
	// partitioned is set when usage is partitioned by day (PostgreSQL);
	// parts knows which days have a partition. See usage_partitions.go.
	partitioned bool
	parts       usagePartitions
	// planned, when set (tests only), sees each usage query's reads.
	planned atomic.Pointer[func([]usageRead)]
}

var _ Store = (*sqlStore)(nil)

// queries are rebound for the dialect once, at Open.
type queries struct {
	list, get, insert, update, delete string
	bump, revision                    string
	setting, setSetting               string
	keys                              keyQueries
	events                            eventQueries
	teams                             teamQueries
	usage                             usageQueries
	payloads                          payloadQueries
	identity                          identityQueries
	objects                           objectQueries
}

func newQueries(d dialect) queries {
	return queries{
		list:   `SELECT ` + deploymentColumns + ` FROM deployments ORDER BY id` + d.byteOrder,
		get:    d.rebind(`SELECT ` + deploymentColumns + ` FROM deployments WHERE id = ?`),
		insert: d.rebind(`INSERT INTO deployments (` + deploymentColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		update: d.rebind(`UPDATE deployments SET model = ?, class = ?, provider = ?, endpoint = ?,
			resource_name = ?, deployment = ?, api_version = ?, api_key_enc = ?, priority = ?,
			weight = ?, rpm = ?, tpm = ?, active = ?, model_info = ?, origin = ?, updated_at = ?
			WHERE id = ? RETURNING created_at`),
		delete:     d.rebind(`DELETE FROM deployments WHERE id = ?`),
		bump:       `UPDATE revision SET value = value + 1 WHERE id = 1`,
		revision:   `SELECT value FROM revision WHERE id = 1`,
		setting:    d.rebind(`SELECT value FROM settings WHERE key = ?`),
		setSetting: d.rebind(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		keys:       newKeyQueries(d),
		events:     newEventQueries(d),
		teams:      newTeamQueries(d),
		usage:      newUsageQueries(d),
		payloads:   newPayloadQueries(d),
		identity:   newIdentityQueries(d),
		objects:    newObjectQueries(d),
	}
}

// change runs fn and the revision bump in one transaction, so a replica
// that sees the new revision also sees the change.
func (s *sqlStore) change(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q.bump); err != nil {
		return fmt.Errorf("bump revision: %w", err)
	}
	return tx.Commit()
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// rowScanner is a *sql.Row or *sql.Rows: what the scan functions read.
type rowScanner interface{ Scan(dest ...any) error }

// queryOne runs a query that selects at most one row and scans it;
// no row is ErrNotFound.
func queryOne[T any](ctx context.Context, db *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return v, err
}

// queryAll runs query and scans every row it selects.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// insert runs an INSERT in a change; a taken key is ErrConflict.
func (s *sqlStore) insert(ctx context.Context, query string, args ...any) error {
	return s.change(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		if s.d.isConflict(err) {
			return ErrConflict
		}
		return err
	})
}

// update runs an UPDATE ... RETURNING created_at in a change and returns
// the row's creation time: no row is ErrNotFound, a taken unique value
// ErrConflict.
func (s *sqlStore) update(ctx context.Context, query string, args ...any) (created int64, err error) {
	err = s.change(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, query, args...).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case s.d.isConflict(err):
			return ErrConflict
		}
		return err
	})
	return created, err
}

// timestamp is now at the precision the columns keep, so what a write
// returns equals what a later read returns.
func (s *sqlStore) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Revision implements Store.
func (s *sqlStore) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.read.QueryRowContext(ctx, s.q.revision).Scan(&rev); err != nil {
		return 0, fmt.Errorf("store: revision: %w", err)
	}
	return rev, nil
}

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.name, err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s: %w", s.d.name, err)
		}
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	err := errors.Join(s.rowStmts.close(), s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// storedTime is t as a column keeps it: UTC to the millisecond, and the
// zero time, which is NULL, unchanged.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return fromMillis(t.UnixMilli())
}

// millisColumn is t in unix milliseconds, NULL for the zero time.
func millisColumn(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromNullMillis reads a column millisColumn wrote.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}
