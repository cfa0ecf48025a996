package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// rowStatements are SQLite's usage and rollup writes, prepared once on
// the single writer connection. SQLite runs in this process, so a
// statement costs no round trip, and a prepared one saves parsing its
// text anew at every batch, which was most of an insert's time. Raw
// records go in usageChunkRows at a time (one statement's call, its
// conversion of arguments and its step instead of usageChunkRows), the
// rest of a batch a row at a time.
type rowStatements struct {
	mu                                                    sync.Mutex
	insertUsage, insertChunk, insertLeanChunk, upsertRoll *sql.Stmt
}

// usageChunkRows is how many raw records one prepared multi-row INSERT
// takes on SQLite: 800 parameters, far under its 32,766.
const usageChunkRows = 32

// get prepares the statements on first use. It needs the writer
// connection: call it before beginning the transaction, which holds it.
func (r *rowStatements) get(ctx context.Context, s *sqlStore) (usageStatements, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&r.insertUsage, usageInsertSQL(s.d, 1)},
		{&r.insertChunk, usageInsertSQL(s.d, usageChunkRows)},
		{&r.insertLeanChunk, usageInsertSQLOf(s.d, usageLeanColumns, usageLeanColumnCount, usageChunkRows)},
		{&r.upsertRoll, rollupUpsertSQL(s.d)},
	} {
		if *p.stmt != nil {
			continue
		}
		stmt, err := s.write.PrepareContext(ctx, p.query)
		if err != nil {
			return usageStatements{}, err
		}
		*p.stmt = stmt
	}
	return usageStatements{insert: r.insertUsage, insertChunk: r.insertChunk, insertLeanChunk: r.insertLeanChunk, upsert: r.upsertRoll}, nil
}

// close closes the statements prepared; before the database closes.
func (r *rowStatements) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for _, stmt := range []**sql.Stmt{&r.insertUsage, &r.insertChunk, &r.insertLeanChunk, &r.upsertRoll} {
		if *stmt != nil {
			err = errors.Join(err, (*stmt).Close())
			*stmt = nil
		}
	}
	return err
}

// usageStatements are what one usage write needs before its transaction
// begins: on SQLite the prepared statements; on PostgreSQL a connection
// of its own, which the transaction runs on, so that the raw records can
// be COPYed on it inside the transaction (see insertUsageArrays).
type usageStatements struct {
	insert, insertChunk, insertLeanChunk, upsert *sql.Stmt
	conn                                         *sql.Conn
}

// usageStatements returns s's prepared usage writes, preparing them on
// first use, or on PostgreSQL takes a connection from the pool; call it
// before beginning the transaction (with begin) and close it after.
func (s *sqlStore) usageStatements(ctx context.Context) (usageStatements, error) {
	if s.d.numbered {
		conn, err := s.write.Conn(ctx)
		if err != nil {
			return usageStatements{}, fmt.Errorf("store: insert usage: %w", err)
		}
		return usageStatements{conn: conn}, nil
	}
	stmts, err := s.rowStmts.get(ctx, s)
	if err != nil {
		return usageStatements{}, fmt.Errorf("store: insert usage: prepare: %w", err)
	}
	return stmts, nil
}

// begin begins the write's transaction: on its connection, if it has one.
func (u usageStatements) begin(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	if u.conn != nil {
		return u.conn.BeginTx(ctx, nil)
	}
	return db.BeginTx(ctx, nil)
}

// close returns the connection, if any, to the pool; after the
// transaction's end.
func (u usageStatements) close() {
	if u.conn != nil {
		u.conn.Close()
	}
}
