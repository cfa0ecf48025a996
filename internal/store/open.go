package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Options configures Open.
type Options struct {
	// SecretKey encrypts upstream keys at rest: 32 bytes, usually from
	// ParseSecretKey(os.Getenv("SPILLWAY_SECRET_KEY")). Default nil: the
	// store works, but storing a deployment with an APIKey fails with
	// ErrNoSecretKey and reading one that has a key fails too.
	SecretKey []byte
	// Logger receives one line per applied migration. Default
	// slog.Default(). Nothing secret is ever logged.
	Logger *slog.Logger
	// Now stamps CreatedAt, UpdatedAt and settings. Default time.Now.
	Now func() time.Time
}

// Open connects to the database named by url, applies any pending
// migrations and returns a Store. Accepted forms:
//
//	sqlite://spillway.db          relative to the working directory
//	sqlite:///var/lib/spillway.db absolute
//	postgres://user:pass@host:5432/db?sslmode=disable (or postgresql://)
//
// A database migrated by a newer binary fails with ErrSchemaTooNew. The
// caller closes the Store.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	return open(ctx, url, opts, 0)
}

// open is Open with the schema migrated up to version upTo when it is
// above zero.
func open(ctx context.Context, url string, opts Options, upTo int64) (*sqlStore, error) {
	sealer, err := newSealer(opts.SecretKey)
	if err != nil {
		return nil, err
	}
	s := &sqlStore{sealer: sealer, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}

	switch {
	case strings.HasPrefix(url, "sqlite://"):
		s.d = sqliteDialect
		s.read, s.write, err = openSQLite(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s.d = postgresDialect
		s.write, err = openPostgres(ctx, url)
		s.read = s.write
	default:
		// Only the scheme is quoted: the rest may hold a password.
		scheme, _, _ := strings.Cut(url, ":")
		return nil, fmt.Errorf("store: unsupported database URL scheme %q: want sqlite://relative/path.db, sqlite:///absolute/path.db, postgres://user@host/db or postgresql://user@host/db", scheme)
	}
	if err != nil {
		return nil, err
	}
	s.log = logger
	if err := migrate(ctx, s.write, s.d, logger, upTo); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if err := s.startUsagePartitions(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.q = newQueries(s.d)
	if upTo > 0 && upTo < rollupTailVersion {
		// Only tests open a schema short of the newest: one without
		// usage_rollups.latency_tail merges every histogram in place.
		s.noRollupTail = true
		s.q.usage.upsertRollups = rollupUpsertSQLWithout(s.d)
	}
	return s, nil
}
