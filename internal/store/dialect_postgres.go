package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

var postgresDialect = dialect{
	name:          "postgres",
	goose:         goose.DialectPostgres,
	numbered:      true,
	byteOrder:     ` COLLATE "C"`,
	isConflict:    postgresConflict,
	migrationLock: postgresMigrationLock,
	histSet:       postgresHistSet,
	greatest:      "GREATEST",
	rowID:         "ctid",
}

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// postgresConns bounds the pool: the store is off the request path, and
// replicas share the server's max_connections.
const postgresConns = 10

// postgresSessionDefaults are the store's session settings unless its
// URL sets them. JIT compilation is off: every statement of the store is
// short, and at 100 million usage records the planner's estimate for a
// 30-day read of daily key rows passes jit_above_cost, so each half of
// "by key" spent 3 to 51 ms compiling for a read that runs in about 20.
var postgresSessionDefaults = map[string]string{
	"application_name": "spillway",
	"jit":              "off",
}

// openPostgres connects to url through pgx's database/sql driver.
// Parameters pgx does not know, such as search_path, become session
// settings.
func openPostgres(ctx context.Context, url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its message.
		return nil, fmt.Errorf("store: postgres URL: %w", err)
	}
	for name, value := range postgresSessionDefaults {
		if _, ok := cfg.RuntimeParams[name]; !ok {
			cfg.RuntimeParams[name] = value
		}
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns / 2)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to postgres: %w", err), db.Close())
	}
	return db, nil
}

func postgresConflict(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// postgresMigrationLock holds a transaction-scoped advisory lock until
// unlock, so replicas starting together migrate one after the other. The
// lock id comes from the database and schema, so unrelated schemas (tests,
// other tenants) do not wait on each other. Waiters block in the server
// rather than poll, and a crashed holder's lock ends with its connection.
func postgresMigrationLock(ctx context.Context, db *sql.DB) (unlock func() error, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	var scope string
	err = tx.QueryRowContext(ctx, `SELECT current_database() || '.' || COALESCE(current_schema(), '')`).Scan(&scope)
	if err == nil {
		h := fnv.New64a()
		h.Write([]byte("spillway migrations " + scope))
		_, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64()))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: migration lock: %w", err), tx.Rollback())
	}
	return func() error {
		// A cancelled ctx has already ended the transaction, and the lock.
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			return err
		}
		return nil
	}, nil
}
