package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/spillwayhq/spillway/internal/usage"
)

// RawAPIKey returns the api_key_enc column of deployment id exactly as
// stored, nil when NULL. storetest finds it through an interface
// assertion; it exists only in this package's test binary.
func (s *sqlStore) RawAPIKey(ctx context.Context, id string) ([]byte, error) {
	var raw sql.NullString
	if err := s.read.QueryRowContext(ctx, s.d.rebind(`SELECT api_key_enc FROM deployments WHERE id = ?`), id).Scan(&raw); err != nil {
		return nil, err
	}
	if !raw.Valid {
		return nil, nil
	}
	return []byte(raw.String), nil
}

// SchemaVersion returns the highest migration version applied to st's
// database.
func SchemaVersion(ctx context.Context, st Store) (int64, error) {
	s := st.(*sqlStore)
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT MAX(version_id) FROM `+goose.DefaultTablename).Scan(&v)
	return v, err
}

// StampSchemaVersion records version as applied, as a newer binary that
// had migrated the database would have.
func StampSchemaVersion(ctx context.Context, st Store, version int64) error {
	s := st.(*sqlStore)
	_, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO `+goose.DefaultTablename+` (version_id, is_applied) VALUES (?, ?)`), version, true)
	return err
}

// LatestSchemaVersion is the newest embedded migration.
func LatestSchemaVersion() (int64, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return 0, err
		}
		latest = max(latest, v)
	}
	latest = max(latest, usagePartitionsVersion) // a Go migration
	if latest == 0 {
		return 0, errors.New("no migrations embedded")
	}
	return latest, nil
}

// SQLitePragma returns a pragma's value as the writer ("write") or a
// reader ("read") connection sees it.
func SQLitePragma(ctx context.Context, st Store, pool, name string) (string, error) {
	s := st.(*sqlStore)
	db := s.read
	if pool == "write" {
		db = s.write
	}
	var v string
	err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// SeedUsageBacklog writes records to usage_backlog, where migration 10
// put the records of a database that had no rollups yet, and makes st
// look for it again. storetest finds it through an interface assertion.
func (s *sqlStore) SeedUsageBacklog(t *testing.T, records []usage.Record) {
	t.Helper()
	for chunk := range slices.Chunk(records, usageRowsPerStatement) {
		query := strings.Replace(usageInsertSQL(s.d, len(chunk)), "INSERT INTO usage (", "INSERT INTO usage_backlog (", 1)
		var args []any
		for i := range chunk {
			args = appendUsageArgs(args, &chunk[i])
		}
		if _, err := s.write.ExecContext(t.Context(), query, args...); err != nil {
			t.Fatalf("seed usage backlog: %v", err)
		}
	}
	s.rollupsReady.Store(false)
}

// UsageWeeksRead runs q and returns the starts of the weeks it read
// from weekly rollups, ascending. storetest finds it through an
// interface assertion.
func (s *sqlStore) UsageWeeksRead(t *testing.T, q UsageQuery) []time.Time {
	t.Helper()
	var out []time.Time
	f := func(reads []usageRead) {
		for _, read := range reads {
			for _, p := range read {
				for w := p.seg.from; p.seg.span == msPerWeek && w < p.seg.to; w += msPerWeek {
					out = append(out, time.UnixMilli(w).UTC())
				}
			}
		}
	}
	s.planned.Store(&f)
	defer s.planned.Store(nil)
	if _, err := s.QueryUsage(t.Context(), q); err != nil {
		t.Fatalf("QueryUsage: %v", err)
	}
	return out
}
