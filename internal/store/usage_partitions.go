package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"

	"github.com/spillwayhq/spillway/internal/usage"
)

// On PostgreSQL the raw usage records live in a table partitioned by
// range of time (unix ms), one partition per UTC day, named
// usage_YYYYMMDD. A day is the unit because it is what retention is
// counted in: at 1,000 requests/s a day is ~86 million records (~15 GB
// with its time index), small enough to drop in one statement and to
// scan for an export, while 90 days of retention make ~100 partitions,
// which plan-time pruning and the lock manager handle without effort
// (hourly partitions would make 2,160, monthly ones would keep records
// up to a month past their retention).
//
// Partitions are created ahead (today and the next usagePartitionsAhead
// days) at Open and by every PurgeUsage, and before an insert whose
// records fall on a day no partition covers (a late record, a replayed
// spill, a skewed clock): InsertUsage never fails for want of a
// partition. There is no DEFAULT partition: rows in it would have to be
// moved out before a partition for their day could be created, and it
// would forbid DETACH ... CONCURRENTLY.
//
// Retention drops whole partitions whose day ended before the cut-off;
// the day that holds the cut-off is kept whole, so raw records live up to
// a day past usage.retention. An upgraded database's old table becomes
// one partition, usage_legacy, covering everything before the day after
// its newest record: it is dropped whole once that day is past
// retention, and until then its expired rows are deleted in batches, as
// on SQLite. Rollups are never touched.

const (
	// usagePartitionSpan is the range of one partition: a UTC day.
	usagePartitionSpan = msPerDay
	// usagePartitionsAhead is how many days after today get a partition
	// before any record needs it, so inserts around midnight, and
	// replicas still running a binary that does not create partitions,
	// find theirs.
	usagePartitionsAhead = 3
	// usagePartitionsVersion is the migration that partitions usage.
	usagePartitionsVersion = 80
	// usageLegacyPartition is the old table of an upgraded database.
	usageLegacyPartition = "usage_legacy"
	// partitionLockTimeout bounds how long partition DDL waits for a
	// lock, so it never queues, holding up inserts, behind a long export.
	partitionLockTimeout = "5s"
)

// partitionLockKey is the advisory lock that serializes partition DDL
// among replicas.
const partitionLockKey = `hashtextextended('spillway usage partitions ' || ` + lockScope + `, 0)`

// lockScope is the SQL text that scopes an advisory lock's key to the
// database and schema, like the migration lock's: two gateways on
// different schemas of one server never wait for each other.
const lockScope = `current_database() || '.' || COALESCE(current_schema(), '')`

// usagePartitions is the store's knowledge of which days have a
// partition, so an insert checks it without a query.
type usagePartitions struct {
	mu    sync.Mutex
	known map[int64]bool // day number (ms / msPerDay) -> covered
	// horizon is the latest retention cut-off (ms) this store was asked
	// to purge at. Every replica's purger runs hourly with the same
	// retention, so a day that ends before horizon plus usageStaleMargin
	// may be dropped by any replica at any time: it is never taken from
	// known, but checked in the database (under the lock a drop holds).
	horizon int64
}

// usageStaleMargin is how far past the last cut-off a day counts as one
// another replica may be dropping: more than the hour between purges.
const usageStaleMargin = 2 * msPerDay

// missing returns the days of days not known covered, and those near or
// past the retention horizon, which must be checked.
func (p *usagePartitions) missing(days []int64) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for _, d := range days {
		if !p.known[d] || (d+1)*usagePartitionSpan <= p.horizon+usageStaleMargin {
			out = append(out, d)
		}
	}
	return out
}

// setHorizon records a purge's cut-off.
func (p *usagePartitions) setHorizon(cut int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.horizon = max(p.horizon, cut)
}

func (p *usagePartitions) add(days ...int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil {
		p.known = map[int64]bool{}
	}
	for _, d := range days {
		p.known[d] = true
	}
}

// forget drops everything known, after a partition was dropped here or,
// as an insert that found no partition shows, by another replica.
func (p *usagePartitions) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.known = nil
}

// usagePartition is one partition of usage: rows with from <= time < to.
type usagePartition struct {
	name          string
	from, to      int64
	detachPending bool
}

// covers reports whether day lies wholly within p.
func (p usagePartition) covers(day int64) bool {
	return p.from <= day*usagePartitionSpan && (day+1)*usagePartitionSpan <= p.to
}

// multiDay reports whether p is longer than a day (usage_legacy).
func (p usagePartition) multiDay() bool {
	return p.from == math.MinInt64 || p.to == math.MaxInt64 || p.to-p.from > usagePartitionSpan
}

// ensureUsagePartitions makes sure every record's day has a partition.
// It costs a map lookup per distinct day when they all have one (the
// usual case: partitions are created days ahead). Call it before the
// insert's transaction begins: creating takes a connection of its own.
func (s *sqlStore) ensureUsagePartitions(ctx context.Context, records []usage.Record) error {
	if !s.partitioned {
		return nil
	}
	var days []int64
	for i := range records {
		d := floorDiv(records[i].Time.UnixMilli(), usagePartitionSpan)
		if len(days) > 0 && days[len(days)-1] == d || slices.Contains(days, d) {
			continue
		}
		days = append(days, d)
	}
	return s.ensureUsageDays(ctx, days...)
}

// ensureUsageDays creates the partitions of those days that have none.
func (s *sqlStore) ensureUsageDays(ctx context.Context, days ...int64) error {
	if !s.partitioned {
		return nil
	}
	missing := s.parts.missing(days)
	if len(missing) == 0 {
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: usage partitions: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	created, err := createUsagePartitions(ctx, tx, missing)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: usage partitions: commit: %w", err)
	}
	s.parts.add(missing...)
	for _, name := range created {
		s.log.InfoContext(ctx, "store: created usage partition", "partition", name)
	}
	return nil
}

// createUsagePartitions creates, in tx, a partition for each of days that
// no partition covers yet, and returns their names. It holds the
// partition lock until tx ends, so replicas creating the same day at
// once create it once: the second finds it made.
func createUsagePartitions(ctx context.Context, tx *sql.Tx, days []int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
		return nil, fmt.Errorf("store: usage partitions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+partitionLockKey+`)`); err != nil {
		return nil, fmt.Errorf("store: usage partitions: lock: %w", err)
	}
	parts, err := listUsagePartitions(ctx, tx)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, day := range days {
		i := slices.IndexFunc(parts, func(p usagePartition) bool { return p.covers(day) })
		if i >= 0 {
			if parts[i].detachPending {
				return nil, fmt.Errorf("store: usage partition %s is being dropped; its records past retention are refused until it is gone", parts[i].name)
			}
			continue
		}
		name := usagePartitionName(day)
		from, to := day*usagePartitionSpan, (day+1)*usagePartitionSpan
		// Created alone and attached, rather than CREATE ... PARTITION
		// OF, so the parent is locked SHARE UPDATE EXCLUSIVE, which
		// inserts and reads do not wait on. The new table is empty, so
		// attaching it scans nothing; its time index comes from usage's.
		for _, q := range []string{
			// IF NOT EXISTS: a table left by a drop that failed after its
			// detach holds that day's records; attaching it (which then
			// checks its rows) puts them back for the next purge.
			`CREATE TABLE IF NOT EXISTS ` + name + ` (LIKE usage INCLUDING DEFAULTS)`,
			fmt.Sprintf(`ALTER TABLE usage ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, name, from, to),
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("store: create usage partition %s: %w", name, err)
			}
		}
		parts = append(parts, usagePartition{name: name, from: from, to: to})
		created = append(created, name)
	}
	return created, nil
}

// usagePartitionName is usage_YYYYMMDD for day, or usage_dN for a day
// outside years 1 to 9999 (a record with a broken clock).
func usagePartitionName(day int64) string {
	t := time.UnixMilli(day * usagePartitionSpan).UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return "usage_d" + strings.ReplaceAll(strconv.FormatInt(day, 10), "-", "m")
	}
	return "usage_" + t.Format("20060102")
}

// partitionBound reads pg_get_expr's form of a range partition bound.
var partitionBound = regexp.MustCompile(`^FOR VALUES FROM \(([^)]*)\) TO \(([^)]*)\)$`)

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listUsagePartitions returns usage's partitions in time order.
func listUsagePartitions(ctx context.Context, q querier) ([]usagePartition, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("store: list usage partitions: %w", err)
	}
	defer rows.Close()
	var out []usagePartition
	for rows.Next() {
		var p usagePartition
		var bound string
		if err := rows.Scan(&p.name, &bound, &p.detachPending); err != nil {
			return nil, fmt.Errorf("store: list usage partitions: %w", err)
		}
		if p.from, p.to, err = parsePartitionBound(bound); err != nil {
			return nil, fmt.Errorf("store: usage partition %s: %w", p.name, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list usage partitions: %w", err)
	}
	slices.SortFunc(out, func(a, b usagePartition) int { return compareInt(a.from, b.from) })
	return out, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parsePartitionBound reads pg_get_expr's text of a range bound.
func parsePartitionBound(bound string) (from, to int64, err error) {
	m := partitionBound.FindStringSubmatch(bound)
	if m == nil {
		return 0, 0, fmt.Errorf("bound %q is not a range of time", bound)
	}
	if from, err = parseBound(m[1]); err == nil {
		to, err = parseBound(m[2])
	}
	return from, to, err
}

// parseBound reads one value of a bound: a number, quoted or not, or
// MINVALUE / MAXVALUE.
func parseBound(s string) (int64, error) {
	switch s = strings.Trim(s, "'"); s {
	case "MINVALUE":
		return math.MinInt64, nil
	case "MAXVALUE":
		return math.MaxInt64, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// usagePartitioned reports whether usage is a partitioned table.
func usagePartitioned(ctx context.Context, db *sql.DB) (bool, error) {
	var kind string
	if err := db.QueryRowContext(ctx, `SELECT relkind FROM pg_class WHERE oid = 'usage'::regclass`).Scan(&kind); err != nil {
		return false, fmt.Errorf("store: usage partitions: %w", err)
	}
	return kind == "p", nil
}

// usageDaysAhead returns today's day number and the next
// usagePartitionsAhead ones.
func usageDaysAhead(now time.Time) []int64 {
	today := floorDiv(now.UnixMilli(), usagePartitionSpan)
	days := make([]int64, 0, usagePartitionsAhead+1)
	for d := today; d <= today+usagePartitionsAhead; d++ {
		days = append(days, d)
	}
	return days
}

// purgeUsagePartitions is PurgeUsage on PostgreSQL: it creates the
// partitions ahead, drops every partition whose range ends at or before
// before, and deletes up to limit expired rows of a partition longer
// than a day that holds before (only usage_legacy can be). It returns
// how many records it removed. A day partition that holds before is kept
// whole until its day is past. Another replica rotating at the same
// moment makes it return 0: that one does the work.
func (s *sqlStore) purgeUsagePartitions(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := s.ensureUsageDays(ctx, usageDaysAhead(s.now())...); err != nil {
		return 0, err
	}
	cut := before.UnixMilli()
	s.parts.setHorizon(cut)
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: purge usage: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+partitionLockKey+`)`).Scan(&locked); err != nil {
		return 0, fmt.Errorf("store: purge usage: lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	defer func() {
		// Session settings and locks outlive their use: when undoing them
		// fails, the connection is discarded rather than pooled with the
		// lock held, which would stall every replica's partition DDL.
		ctx := context.WithoutCancel(ctx)
		_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+partitionLockKey+`)`)
		if err == nil {
			_, err = conn.ExecContext(ctx, `RESET lock_timeout`)
		}
		if err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, `SET lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
		return 0, fmt.Errorf("store: purge usage: %w", err)
	}
	parts, err := listUsagePartitions(ctx, conn)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range parts {
		switch {
		case p.to <= cut || p.detachPending:
			n, err := s.dropUsagePartition(ctx, conn, p)
			total += n
			if err != nil {
				return total, err
			}
		case p.from < cut && p.multiDay():
			res, err := conn.ExecContext(ctx, `DELETE FROM `+p.name+` WHERE ctid IN (SELECT ctid FROM `+p.name+` WHERE time < $1 LIMIT $2)`, cut, limit)
			if err != nil {
				return total, fmt.Errorf("store: purge usage: %s: %w", p.name, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("store: purge usage: %s: %w", p.name, err)
			}
			total += n
		}
	}
	return total, nil
}

// dropUsagePartition detaches p from usage, counts its rows and drops it,
// returning the count. DETACH ... CONCURRENTLY locks usage only SHARE
// UPDATE EXCLUSIVE, so inserts and reads go on; it waits for the
// transactions using usage to end. When it was interrupted earlier, p is
// pending and FINALIZE completes it.
func (s *sqlStore) dropUsagePartition(ctx context.Context, conn *sql.Conn, p usagePartition) (int64, error) {
	s.parts.forget()
	detach := `ALTER TABLE usage DETACH PARTITION ` + p.name + ` CONCURRENTLY`
	if p.detachPending {
		detach = `ALTER TABLE usage DETACH PARTITION ` + p.name + ` FINALIZE`
	}
	if _, err := conn.ExecContext(ctx, detach); err != nil {
		return 0, fmt.Errorf("store: detach usage partition %s: %w", p.name, err)
	}
	// Detached, the table takes no more inserts: its count is final.
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+p.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count usage partition %s: %w", p.name, err)
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE `+p.name); err != nil {
		return 0, fmt.Errorf("store: drop usage partition %s: %w", p.name, err)
	}
	s.log.InfoContext(ctx, "store: dropped usage partition past retention; rollups are kept", "partition", p.name,
		"from", boundTime(p.from), "to", boundTime(p.to), "records", n)
	return n, nil
}

// boundTime shows a bound for the log.
func boundTime(ms int64) any {
	switch ms {
	case math.MinInt64:
		return "MINVALUE"
	case math.MaxInt64:
		return "MAXVALUE"
	}
	return time.UnixMilli(ms).UTC()
}

// usageMissingPartition notes an insert's error: when it says a record
// had no partition, another replica dropped one this store thought was
// there (this store had not purged yet, so knew no horizon, or the drop
// came between its check and its insert), and what it knows is stale.
// The caller's retry (the usage writer retries failed batches) creates
// it again.
func (s *sqlStore) usageMissingPartition(err error) {
	var e *pgconn.PgError
	if s.partitioned && errors.As(err, &e) && e.Code == "23514" {
		s.parts.forget()
	}
}

// startUsagePartitions runs at Open: it finds out whether usage is
// partitioned and creates the partitions ahead. A failure to create them
// is logged, not fatal: the first insert of each day creates its own.
func (s *sqlStore) startUsagePartitions(ctx context.Context) error {
	if s.d.name != postgresDialect.name {
		return nil
	}
	var err error
	if s.partitioned, err = usagePartitioned(ctx, s.write); err != nil || !s.partitioned {
		return err
	}
	if err := s.ensureUsageDays(ctx, usageDaysAhead(s.now())...); err != nil {
		s.log.WarnContext(ctx, "store: creating usage partitions ahead failed; inserts create their own", "err", err)
	}
	return nil
}

// usagePartitionsMigration is migration 80: on PostgreSQL it turns usage
// into a table partitioned by day, on SQLite it does nothing (SQLite has
// no partitions; retention deletes in batches there).
func usagePartitionsMigration(d dialect, logger *slog.Logger) *goose.Migration {
	if d.name != postgresDialect.name {
		noop := func(context.Context, *sql.Tx) error { return nil }
		return goose.NewGoMigration(usagePartitionsVersion, &goose.GoFunc{RunTx: noop}, &goose.GoFunc{RunTx: noop})
	}
	return goose.NewGoMigration(usagePartitionsVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return partitionUsage(ctx, tx, logger) }},
		&goose.GoFunc{RunTx: unpartitionUsage})
}

// partitionUsage moves usage's rows into the partitioned table without
// copying them: the old table becomes the partition usage_legacy,
// covering everything before the day after its newest record. Its range
// is checked by one read of the table (a CHECK constraint, which the
// attach then trusts) and its time index is kept as the partition's. The
// partitions of today and the next days are created with it, so replicas
// still running the previous binary keep inserting.
func partitionUsage(ctx context.Context, tx *sql.Tx, logger *slog.Logger) error {
	for _, q := range []string{
		`ALTER TABLE usage RENAME TO ` + usageLegacyPartition,
		`ALTER INDEX usage_time RENAME TO ` + usageLegacyPartition + `_time`,
		`CREATE TABLE usage (LIKE ` + usageLegacyPartition + ` INCLUDING DEFAULTS) PARTITION BY RANGE (time)`,
		`CREATE INDEX usage_time ON usage (time)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("partition usage: %w", err)
		}
	}
	var newest *int64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(time) FROM `+usageLegacyPartition).Scan(&newest); err != nil {
		return fmt.Errorf("partition usage: %w", err)
	}
	if newest == nil {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+usageLegacyPartition); err != nil {
			return fmt.Errorf("partition usage: %w", err)
		}
	} else {
		to := (floorDiv(*newest, usagePartitionSpan) + 1) * usagePartitionSpan
		start := time.Now()
		for _, q := range []string{
			fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %[1]s_range CHECK (time < %d)`, usageLegacyPartition, to),
			fmt.Sprintf(`ALTER TABLE usage ATTACH PARTITION %s FOR VALUES FROM (MINVALUE) TO (%d)`, usageLegacyPartition, to),
			fmt.Sprintf(`ALTER TABLE %s DROP CONSTRAINT %[1]s_range`, usageLegacyPartition),
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("partition usage: %w", err)
			}
		}
		logger.InfoContext(ctx, "store: usage is now partitioned by day; its existing records are the partition "+usageLegacyPartition,
			"to", time.UnixMilli(to).UTC(), "duration", time.Since(start))
	}
	_, err := createUsagePartitions(ctx, tx, usageDaysAhead(time.Now()))
	return err
}

// unpartitionUsage is migration 80's down: usage becomes a plain table
// again, its rows copied.
func unpartitionUsage(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		`CREATE TABLE usage_plain (LIKE usage INCLUDING DEFAULTS)`,
		`INSERT INTO usage_plain SELECT * FROM usage`,
		`DROP TABLE usage`,
		`ALTER TABLE usage_plain RENAME TO usage`,
		`CREATE INDEX usage_time ON usage (time)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("unpartition usage: %w", err)
		}
	}
	return nil
}
