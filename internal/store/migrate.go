package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"

	"github.com/pressly/goose/v3"
)

// migrations holds one numbered set of goose SQL files shared by SQLite
// and PostgreSQL. A migration that cannot be written portably is a Go
// migration (goose.NewGoMigration) that switches on the dialect, keeping
// one version sequence: 80, usagePartitionsMigration.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate brings the schema up to the newest embedded migration, or to
// version upTo when it is above zero (tests of upgrades). It refuses a
// database whose schema is newer than that, because this binary would
// misread or damage tables it does not know.
func migrate(ctx context.Context, db *sql.DB, d dialect, logger *slog.Logger, upTo int64) (err error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if d.migrationLock != nil {
		unlock, lerr := d.migrationLock(ctx, db)
		if lerr != nil {
			return lerr
		}
		defer func() {
			if uerr := unlock(); uerr != nil {
				err = errors.Join(err, fmt.Errorf("store: migration unlock: %w", uerr))
			}
		}()
	}
	p, err := goose.NewProvider(d.goose, db, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(usagePartitionsMigration(d, logger)))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	sources := p.ListSources()
	latest := sources[len(sources)-1].Version
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if current > latest {
		return fmt.Errorf("store: database schema is at version %d, this binary knows up to %d: %w", current, latest, ErrSchemaTooNew)
	}
	var results []*goose.MigrationResult
	if upTo > 0 {
		results, err = p.UpTo(ctx, upTo)
	} else {
		results, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: migrate %s schema from version %d: %w", d.name, current, err)
	}
	for _, r := range results {
		logger.InfoContext(ctx, "store: applied migration", "database", d.name, "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// MigrationVersions returns the version of every migration this binary
// applies, SQL files and Go migrations alike, in order.
func MigrationVersions() ([]int64, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	versions := []int64{usagePartitionsVersion}
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions, nil
}
