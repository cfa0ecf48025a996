package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

// dialect is everything that differs between the databases; the queries
// and the migrations are shared.
type dialect struct {
	// name is used in error messages.
	name string
	// goose selects the migration bookkeeping for this database.
	goose goose.Dialect
	// numbered reports whether placeholders are $1, $2, ... instead of ?.
	numbered bool
	// byteOrder is the collation clause that makes ORDER BY id compare
	// bytes, as SQLite does by default, whatever the database's locale.
	byteOrder string
	// isConflict reports whether err is a primary key or unique violation.
	isConflict func(err error) bool
	// migrationLock serializes the migrations of replicas starting
	// together until unlock is called; nil when the database needs none.
	migrationLock func(ctx context.Context, db *sql.DB) (unlock func() error, err error)
	// histSet is the SET clause of a rollup upsert that adds the
	// conflicting row's latency histogram (usage_hist.go); greatest the
	// name of the two-argument maximum.
	histSet  func() string
	greatest string
	// rowID is the column that addresses a row, for deletes in batches.
	rowID string
}

// rebind rewrites the ? placeholders of query for d. Queries are written
// with ? and contain no literal question marks.
func (d dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
