package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var sqliteDialect = dialect{
	name:       "sqlite",
	goose:      goose.DialectSQLite3,
	isConflict: sqliteConflict,
	histSet:    sqliteHistSet,
	greatest:   "max",
	rowID:      "rowid",
}

// Pragmas every connection gets. busy_timeout covers a second process
// writing the same file; inside one process the single writer connection
// already queues writes.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// sqliteReaders bounds the read pool; WAL lets these read while the
// writer writes.
const sqliteReaders = 4

// openSQLite opens the file at path (relative to the working directory
// unless it starts with /) as two pools: one connection that writes, so
// concurrent writers queue in database/sql instead of failing with
// SQLITE_BUSY, and a few read-only connections.
func openSQLite(ctx context.Context, path string) (read, write *sql.DB, err error) {
	switch {
	case path == "":
		return nil, nil, errors.New("store: sqlite URL has no path: want sqlite://relative/path.db or sqlite:///absolute/path.db")
	case strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory"):
		return nil, nil, errors.New("store: in-memory SQLite is not supported: every connection would see its own empty database; use a file such as sqlite://spillway.db")
	case strings.ContainsRune(path, '?'):
		return nil, nil, fmt.Errorf("store: sqlite URL %q: parameters are not supported; the store sets its own", path)
	}
	path = filepath.Clean(path)
	// The file holds encrypted keys and the admin token's hash: create it
	// private. SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite: %w", err)
	}

	// _txlock=immediate takes the write lock at BEGIN, so a transaction
	// never has to upgrade a read lock, which busy_timeout cannot retry.
	write, err = sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	// The writer switches the file to WAL before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("store: open sqlite %q: %w", path, err), write.Close())
	}
	read, err = sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("store: open sqlite %q: %w", path, err), write.Close())
	}
	read.SetMaxOpenConns(sqliteReaders)
	read.SetMaxIdleConns(sqliteReaders)
	return read, write, nil
}

func sqliteConflict(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}
