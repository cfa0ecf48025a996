package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// rowStatements are the single-row usage and rollup writes of SQLite,
// prepared once on the single writer connection. SQLite runs in this
// process, so a row per statement costs no round trip, and a prepared
// statement saves parsing the long multi-row text of every batch anew,
// which was most of an insert's time.
type rowStatements struct {
	mu                      sync.Mutex
	insertUsage, upsertRoll *sql.Stmt
}

// get prepares the statements on first use. It needs the writer
// connection: call it before beginning the transaction, which holds it.
func (r *rowStatements) get(ctx context.Context, s *sqlStore) (insertUsage, upsertRoll *sql.Stmt, err error) {
	if s.d.numbered {
		return nil, nil, nil // PostgreSQL writes arrays instead
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.insertUsage == nil {
		stmt, err := s.write.PrepareContext(ctx, usageInsertSQL(s.d, 1))
		if err != nil {
			return nil, nil, err
		}
		r.insertUsage = stmt
	}
	if r.upsertRoll == nil {
		stmt, err := s.write.PrepareContext(ctx, rollupUpsertSQL(s.d))
		if err != nil {
			return nil, nil, err
		}
		r.upsertRoll = stmt
	}
	return r.insertUsage, r.upsertRoll, nil
}

// usageStatements are what one usage write needs before its transaction
// begins: on SQLite the prepared statements; on PostgreSQL a connection
// of its own, which the transaction runs on, so that the raw records can
// be COPYed on it inside the transaction (see insertUsageArrays).
type usageStatements struct {
	insert, upsert *sql.Stmt
	conn           *sql.Conn
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
	ins, up, err := s.rowStmts.get(ctx, s)
	if err != nil {
		return usageStatements{}, fmt.Errorf("store: insert usage: prepare: %w", err)
	}
	return usageStatements{insert: ins, upsert: up}, nil
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
