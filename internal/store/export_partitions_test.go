package store

import (
	"context"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

// SetNow replaces the store's clock, which creates partitions ahead;
// storetest finds it through an interface assertion. Call it before the
// store is used from other goroutines.
func (s *sqlStore) SetNow(now func() time.Time) { s.now = now }

// UsagePartitions returns the ranges [from, to) of usage's partitions in
// time order, nil when usage is a plain table (SQLite). A bound of
// MINVALUE reads as the zero time. storetest finds it through an
// interface assertion.
func (s *sqlStore) UsagePartitions(ctx context.Context) ([][2]time.Time, error) {
	if !s.partitioned {
		return nil, nil
	}
	parts, err := listUsagePartitions(ctx, s.read)
	if err != nil {
		return nil, err
	}
	out := make([][2]time.Time, len(parts))
	for i, p := range parts {
		if bt, ok := boundTime(p.from).(time.Time); ok {
			out[i][0] = bt
		}
		if bt, ok := boundTime(p.to).(time.Time); ok {
			out[i][1] = bt
		}
	}
	return out, nil
}

// OpenAtVersion is Open with the schema migrated only up to version, as
// an older binary left it.
func OpenAtVersion(ctx context.Context, url string, opts Options, version int64) (Store, error) {
	return open(ctx, url, opts, version)
}

// UsagePartitionsVersion is the migration that partitions usage.
const UsagePartitionsVersion = usagePartitionsVersion

// MigrateDownTo undoes st's migrations above version.
func MigrateDownTo(ctx context.Context, st Store, version int64) error {
	s := st.(*sqlStore)
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(s.d.goose, s.write, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(usagePartitionsMigration(s.d, s.log)))
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
