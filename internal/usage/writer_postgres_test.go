package usage_test

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/testenv"
	"github.com/spillwayhq/spillway/internal/usage"
)

// newPostgres opens a store in a schema of its own on the test
// PostgreSQL, dropped when t ends. Without PostgreSQL the test skips
// (fails under CI): testenv decides.
func newPostgres(t *testing.T) *db {
	t.Helper()
	base := testenv.Postgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "spillway_test_" + strings.ToLower(rand.Text())
	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return openDB(t, u.String(), "pgx", u.String())
}

// exec runs statements on a connection of its own.
func exec(t *testing.T, dsn, statements string) {
	t.Helper()
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(statements); err != nil {
		t.Fatalf("%s: %v", statements, err)
	}
}

// An outage takes the usage table away from the writer and gives it back.
type outage struct {
	name string
	// start begins the outage and returns the func that ends it.
	start func(t *testing.T, d *db) (end func())
}

var outages = []outage{
	{"locked", lockUsage},
	{"renamed", renameUsage},
}

// lockUsage holds an ACCESS EXCLUSIVE lock on the table in a transaction
// of another connection: inserts hang until InsertTimeout ends them, as
// with a database that stopped answering. The lock ends with a rollback.
func lockUsage(t *testing.T, d *db) (end func()) {
	t.Helper()
	pool, err := sql.Open("pgx", d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE usage IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	end = func() {
		once.Do(func() {
			if err := tx.Rollback(); err != nil {
				t.Errorf("unlock: %v", err)
			}
			pool.Close()
		})
	}
	t.Cleanup(end)
	return end
}

// renameUsage renames the table away: inserts fail at once, as with a
// database that refuses connections.
func renameUsage(t *testing.T, d *db) (end func()) {
	t.Helper()
	exec(t, d.dsn, "ALTER TABLE usage RENAME TO usage_away")
	return func() { exec(t, d.dsn, "ALTER TABLE usage_away RENAME TO usage") }
}

// produce records rs from goroutines at a steady pace, so that records
// keep arriving while the outage starts, lasts and ends; wait returns
// when all are recorded.
func produce(w *usage.Writer, rs []usage.Record) (wait func()) {
	var wg sync.WaitGroup
	const goroutines = 4
	for g := range goroutines {
		wg.Go(func() {
			for n, i := 0, g; i < len(rs); n, i = n+1, i+goroutines {
				w.Record(rs[i])
				if n%10 == 9 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	return wg.Wait
}

// outageOptions are the writer's options in these tests. An insert has a
// second, so one held up by the lock ends in a failure while one merely
// slowed by a loaded machine does not; the backoff doubles from 10 ms but
// stays under 100 ms, so an outage of any length leaves the writer at
// most that far from its next attempt.
func outageOptions(t *testing.T) usage.WriterOptions {
	return usage.WriterOptions{
		BatchSize: 100, FlushInterval: 5 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond, InsertTimeout: time.Second,
		Logger: testLogger(t),
	}
}

// TestPostgresOutage makes every insert fail under load, for each kind of
// outage, with a queue large enough to hold what arrives and with a tiny
// queue that overflows to the spill file; once the table is back, every
// record arrives exactly once. Its waits follow the writer's schedule
// (progress): they give up only when the writer stops moving.
func TestPostgresOutage(t *testing.T) {
	for _, o := range outages {
		for _, spill := range []bool{false, true} {
			name := o.name + "/queue"
			if spill {
				name = o.name + "/spill"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				d := newPostgres(t)
				opts := outageOptions(t)
				opts.QueueSize = 100_000
				if spill {
					opts.QueueSize, opts.SpillDir = 16, t.TempDir()
				}
				w := usage.NewWriter(d, opts)
				run(t, w)
				end := o.start(t, d)
				rs := records("pg-"+o.name, 4000)
				wait := produce(w, rs)

				progress(t, "inserts failing", opts, failures(w), func(n int64) bool { return n >= 3 })
				if got := w.Stats(); got.Written != 0 {
					t.Fatalf("during the outage: Stats = %+v, want nothing written", got)
				}
				if spill {
					eventually(t, "records spilled", func() bool { return w.Stats().Spilled > 0 })
				}
				end()
				wait()
				progress(t, "every record written", opts, written(w), func(n int64) bool { return n == int64(len(rs)) })
				closeWriter(t, w, 30*time.Second)

				d.exactlyOnce(t, ids(rs))
				if got := w.Stats(); got.Dropped != 0 || got.Queued != 0 {
					t.Errorf("Stats = %+v, want none dropped or queued", got)
				}
				if spill {
					assertNoSpill(t, opts.SpillDir)
				}
			})
		}
	}
}

// TestPostgresCloseDuringOutage closes the writer while the table is
// away: the records wait in the spill file, and a new writer, once the
// table is back, writes each exactly once.
func TestPostgresCloseDuringOutage(t *testing.T) {
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			d := newPostgres(t)
			opts := outageOptions(t)
			opts.SpillDir = t.TempDir()
			first := usage.NewWriter(d, opts)
			run(t, first)
			end := o.start(t, d)
			rs := records("pg-close-"+o.name, 1000)
			recordAll(first, rs, 4)
			closeWriter(t, first, 300*time.Millisecond)
			if got := first.Stats(); got.Written != 0 || got.Spilled != int64(len(rs)) || got.Dropped != 0 {
				t.Errorf("first writer: Stats = %+v, want all %d spilled", got, len(rs))
			}
			end()

			second := usage.NewWriter(d, opts)
			run(t, second)
			progress(t, "the spill file replayed", opts, written(second), func(n int64) bool { return n == int64(len(rs)) })
			closeWriter(t, second, 30*time.Second)
			d.exactlyOnce(t, ids(rs))
			assertNoSpill(t, opts.SpillDir)
		})
	}
}
