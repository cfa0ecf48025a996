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

// usageStatements are the prepared statements of one insert; nil on
// PostgreSQL.
type usageStatements struct{ insert, upsert *sql.Stmt }

// usageStatements returns s's prepared usage writes, preparing them on
// first use; call it before beginning the transaction.
func (s *sqlStore) usageStatements(ctx context.Context) (usageStatements, error) {
	ins, up, err := s.rowStmts.get(ctx, s)
	if err != nil {
		return usageStatements{}, fmt.Errorf("store: insert usage: prepare: %w", err)
	}
	return usageStatements{ins, up}, nil
}
