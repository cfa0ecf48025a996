package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/spillwayhq/spillway/internal/usage"
)

// rowStatements are SQLite's usage and rollup writes, prepared once on
// the single writer connection. SQLite runs in this process, so a
// statement costs no round trip, and a prepared one saves parsing its
// text anew at every batch, which was most of an insert's time. Raw
// records go in usageChunkRows at a time (one statement's call and its
// step instead of usageChunkRows) through chunks, the rest of a batch a
// row at a time.
type rowStatements struct {
	mu                      sync.Mutex
	insertUsage, upsertRoll *sql.Stmt
	chunks                  rawChunks
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
	return usageStatements{insert: r.insertUsage, upsert: r.upsertRoll, chunks: &r.chunks}, nil
}

// close closes the statements prepared; before the database closes.
func (r *rowStatements) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for _, stmt := range []**sql.Stmt{&r.insertUsage, &r.upsertRoll} {
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
	insert, upsert *sql.Stmt
	// chunks, on SQLite, are the chunk INSERTs as the driver's
	// statements, run on conn (see rawChunks).
	chunks *rawChunks
	conn   *sql.Conn
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
	// The writer connection, the only one of s.write, which the
	// transaction begins on and rawChunks run on inside it.
	if stmts.conn, err = s.write.Conn(ctx); err != nil {
		return usageStatements{}, fmt.Errorf("store: insert usage: %w", err)
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

// rawChunks are SQLite's chunk INSERTs (usageChunkRows records, of every
// column or of usageLeanColumns) as the driver's own statements on the
// writer connection, run inside the write's transaction through
// sql.Conn.Raw. A chunk binds 544 to 800 arguments; through database/sql
// each exec converted them into a new []driver.NamedValue (about 20 KiB,
// three fifths of the bytes a batch allocated) and checked each one, and
// with a cancelable context the driver started a goroutine to watch it.
// Here the arguments go into one reused slice, the labels a batch repeats
// (key, model, deployment, endpoint) are boxed once per run of equal
// values, the values a chunk's records share are bound once (chunkShape),
// and the context is checked between chunks: a chunk runs in memory
// under the write lock the transaction already holds, so it has nothing
// to wait for.
//
// The statements are prepared for each write on the connection it holds
// and closed before the write returns (one prepare for each shape of
// chunk a batch has, mostly one or two, where a batch is thousands of
// records). Kept across writes, they would outlive a
// connection database/sql replaced after an interrupted insert: SQLite
// keeps a connection with unfinalized statements open, its files too,
// and the driver cannot finalize them once its connection is closed.
type rawChunks struct {
	vals []any               // a chunk's values, row after row
	args []driver.NamedValue // and as its statement binds them, Ordinals set
	// labels are the last key, model, deployment and endpoint boxed.
	labels [4]boxedText
}

// boxedText is a column's last text value and its boxed form, reused
// while the next records carry the same.
type boxedText struct {
	s string
	v any
}

// box returns text(s) as a driver.Value, the previous one when s is the
// same as last time.
func (b *boxedText) box(s string) any {
	if b.v == nil || s != b.s {
		b.s, b.v = s, text(s)
	}
	return b.v
}

// exec inserts records, whole chunks of usageChunkRows, on dc. Only the
// holder of the writer connection calls it, inside Raw: the connection
// is what serializes the calls.
func (c *rawChunks) exec(ctx context.Context, dc any, records []usage.Record) (err error) {
	prep, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("store: insert usage: driver connection %T cannot prepare with a context", dc)
	}
	if c.vals == nil {
		c.vals = make([]any, 0, usageChunkRows*usageColumnCount)
		c.args = make([]driver.NamedValue, usageChunkRows*usageColumnCount)
		for i := range c.args {
			c.args[i].Ordinal = i + 1
		}
	}
	stmts := make(map[chunkShape]driver.Stmt, maxChunkShapes)
	defer func() {
		for _, st := range stmts {
			err = errors.Join(err, st.Close())
		}
		clear(c.vals[:cap(c.vals)]) // let the batch's values go
		for i := range c.args {
			c.args[i].Value = nil
		}
	}()
	for ; len(records) >= usageChunkRows; records = records[usageChunkRows:] {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := records[:usageChunkRows]
		shape := chunkShape{lean: allLeanUsage(chunk)}
		vals, width := c.vals[:0], usageColumnCount
		if shape.lean {
			width = usageLeanColumnCount
			for i := range chunk {
				vals = c.appendLean(vals, &chunk[i])
			}
		} else {
			for i := range chunk {
				vals = c.appendFull(vals, &chunk[i])
			}
		}
		_, shareable := shape.columns()
		shape.shared = sharedColumns(vals, width, shareable)
		stmt, shape, err := chunkStmt(ctx, prep, stmts, shape)
		if err != nil {
			return err
		}
		// Not ctx: see rawChunks.
		args := chunkArgs(c.args, vals, width, shape.shared)
		if _, err := stmt.(driver.StmtExecContext).ExecContext(context.Background(), args); err != nil {
			return fmt.Errorf("store: insert usage: %w", err)
		}
	}
	return nil
}

// chunkStmt returns the write's statement of shape, preparing it on
// prep and adding it to stmts first if it is not there. Once stmts holds
// maxChunkShapes statements it returns, for a new shape, the statement
// and the shape of the same columns with nothing shared.
func chunkStmt(ctx context.Context, prep driver.ConnPrepareContext, stmts map[chunkShape]driver.Stmt, shape chunkShape) (driver.Stmt, chunkShape, error) {
	if st, ok := stmts[shape]; ok {
		return st, shape, nil
	}
	if len(stmts) >= maxChunkShapes && shape.shared != 0 {
		shape.shared = 0
		if st, ok := stmts[shape]; ok {
			return st, shape, nil
		}
	}
	st, err := prep.PrepareContext(ctx, shape.sql(usageChunkRows))
	if err != nil {
		return nil, shape, fmt.Errorf("store: insert usage: prepare: %w", err)
	}
	stmts[shape] = st
	return st, shape, nil
}

// appendLean appends r's usageLeanColumns values to args.
func (c *rawChunks) appendLean(args []any, r *usage.Record) []any {
	n := len(args)
	args = slices.Grow(args, usageLeanColumnCount)[:n+usageLeanColumnCount]
	v := args[n:]
	v[0], v[1], v[2] = r.Time.UnixMilli(), text(r.RequestID), c.labels[0].box(r.KeyID)
	v[3], v[4], v[5] = c.labels[1].box(r.Model), c.labels[2].box(r.Deployment), c.labels[3].box(r.Endpoint)
	v[6], v[7], v[8] = int64(r.Status), int64(r.Attempts), r.Stream
	v[9], v[10], v[11] = micros(r.Latency), micros(r.TTFB), int64(LatencyBucket(r.Latency))
	v[12], v[13], v[14] = int64(r.PromptTokens), int64(r.CompletionTokens), int64(r.TotalTokens)
	v[15], v[16] = r.Estimated, costValue(r.Cost)
	return args
}

// appendFull appends r's usageColumns values to args (appendUsageArgs
// takes them from here).
func (c *rawChunks) appendFull(args []any, r *usage.Record) []any {
	n := len(args)
	args = slices.Grow(args, usageColumnCount)[:n+usageColumnCount]
	v := args[n:]
	v[0], v[1], v[2] = r.Time.UnixMilli(), text(r.RequestID), c.labels[0].box(r.KeyID)
	v[3], v[4], v[5] = text(r.EventID), text(r.Attendee), c.labels[1].box(r.Model)
	v[6], v[7], v[8] = c.labels[2].box(r.Deployment), c.labels[3].box(r.Endpoint), int64(r.Status)
	v[9], v[10], v[11] = int64(r.Attempts), r.Stream, micros(r.Latency)
	v[12], v[13], v[14] = micros(r.TTFB), int64(LatencyBucket(r.Latency)), int64(r.PromptTokens)
	v[15], v[16], v[17] = int64(r.CompletionTokens), int64(r.TotalTokens), r.Estimated
	v[18], v[19], v[20] = costValue(r.Cost), text(r.User), int64(r.CachedTokens)
	v[21], v[22], v[23] = int64(r.ReasoningTokens), finite(r.AudioSeconds), text(r.TeamID)
	v[24] = text(r.BatchID)
	return args
}
