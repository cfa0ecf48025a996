package store

import (
	"context"
	"fmt"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// PurgeUsage implements Store. Each statement deletes at most limit rows,
// picked by the database's row address (rowid, ctid), so on SQLite the
// single writer is held for one small delete at a time and usage inserts
// go between them; rollups are kept. On PostgreSQL it drops whole day
// partitions instead (usage_partitions.go).
func (s *sqlStore) PurgeUsage(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 5000
	}
	if s.partitioned {
		return s.purgeUsagePartitions(ctx, before, limit)
	}
	query := s.d.rebind(`DELETE FROM usage WHERE ` + s.d.rowID + ` IN (SELECT ` + s.d.rowID +
		` FROM usage WHERE time < ? LIMIT ?)`)
	res, err := s.write.ExecContext(ctx, query, before.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: purge usage: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge usage: %w", err)
	}
	return n, nil
}

// ExportUsage implements Store. Rows are read and handed to fn one at a
// time as the database sends them, in time order; fn's error stops the
// export and is returned as is.
func (s *sqlStore) ExportUsage(ctx context.Context, from, to time.Time, fn func(*usage.Record) error) error {
	ready, err := s.usageRollupsReady(ctx)
	if err != nil {
		return fmt.Errorf("store: export usage: %w", err)
	}
	query := `SELECT ` + usageColumns + ` FROM usage WHERE time >= ? AND time < ?`
	args := []any{from.UnixMilli(), to.UnixMilli()}
	if !ready {
		query = `SELECT * FROM (` + query + ` UNION ALL SELECT ` + usageColumns +
			` FROM usage_backlog WHERE time >= ? AND time < ?) AS u`
		args = append(args, args...)
	}
	rows, err := s.read.QueryContext(ctx, s.d.rebind(query+` ORDER BY time`), args...)
	if err != nil {
		return fmt.Errorf("store: export usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanUsageRecord(rows)
		if err != nil {
			return fmt.Errorf("store: export usage: %w", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: export usage: %w", err)
	}
	return nil
}
