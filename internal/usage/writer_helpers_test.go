package usage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// db is a real store for a test, with what the test needs to look at the
// rows themselves.
type db struct {
	store.Store
	driver, dsn string
}

// newSQLite opens a store on a fresh SQLite file, closed when t ends.
func newSQLite(t testing.TB) *db {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spillway.db")
	return openDB(t, "sqlite://"+path, "sqlite", path)
}

func openDB(t testing.TB, url, driver, dsn string) *db {
	t.Helper()
	st, err := store.Open(t.Context(), url, store.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return &db{Store: st, driver: driver, dsn: dsn}
}

// exactlyOnce checks that the usage table holds each of want's request
// ids exactly once and nothing else.
func (d *db) exactlyOnce(t *testing.T, want []string) {
	t.Helper()
	raw, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(t.Context(), `SELECT request_id, COUNT(*) FROM usage GROUP BY request_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing, twice := 0, 0
	for _, id := range want {
		switch n := got[id]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
		delete(got, id)
	}
	if missing > 0 || twice > 0 || len(got) > 0 {
		t.Errorf("of %d records: %d missing, %d written more than once, %d unexpected", len(want), missing, twice, len(got))
	}
	// And the way the API counts them.
	total, err := d.QueryUsage(t.Context(), store.UsageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if total[0].Requests != int64(len(want)) {
		t.Errorf("QueryUsage total = %d requests, want %d", total[0].Requests, len(want))
	}
}

// records returns n records with unique request ids prefix-0, prefix-1...
func records(prefix string, n int) []usage.Record {
	out := make([]usage.Record, n)
	for i := range out {
		out[i] = usage.Record{
			Time:      time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
			RequestID: fmt.Sprintf("%s-%d", prefix, i),
			KeyID:     "key-1",
			Model:     "gpt-4o",
			Status:    200,
			Latency:   120 * time.Millisecond,
		}
	}
	return out
}

func ids(rs []usage.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RequestID
	}
	return out
}

// recordAll calls Record for every record from goroutines goroutines.
func recordAll(w *usage.Writer, rs []usage.Record, goroutines int) {
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < len(rs); i += goroutines {
				w.Record(rs[i])
			}
		})
	}
	wg.Wait()
}

// run starts w.Run and returns a func that cancels it and waits for it
// to return; t's cleanup calls it too.
func run(t testing.TB, w *usage.Writer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// closeWriter closes w, failing the test on error.
func closeWriter(t testing.TB, w *usage.Writer, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// eventually polls cond until it holds, failing the test after a long
// deadline: it checks liveness, never speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// progress waits until done(value()) while value keeps moving: it fails
// only when value has not changed for ten of the writer's cycles, the
// longest it can go between two attempts (a backoff at its cap, an insert
// to its timeout, a flush). A writer that works, however slowly a loaded
// machine lets it, is waited for; a stuck one is not; and no wait is
// shorter than the writer's own retry schedule.
func progress(t testing.TB, what string, o usage.WriterOptions, value func() int64, done func(int64) bool) {
	t.Helper()
	cycle := o.MaxRetryBackoff + o.InsertTimeout + o.FlushInterval
	if o.MaxRetryBackoff <= 0 || o.InsertTimeout <= 0 {
		t.Fatalf("progress needs MaxRetryBackoff and InsertTimeout set, to know the writer's cycle")
	}
	last := value()
	stuckAt := time.Now().Add(10 * cycle)
	for !done(last) {
		time.Sleep(5 * time.Millisecond)
		if v := value(); v != last {
			last, stuckAt = v, time.Now().Add(10*cycle)
			continue
		}
		if time.Now().After(stuckAt) {
			t.Fatalf("waiting for %s: no progress in %v (ten writer cycles); stuck at %d", what, 10*cycle, last)
		}
	}
}

// written and failures read a writer's counters, for progress.
func written(w *usage.Writer) func() int64  { return func() int64 { return w.Stats().Written } }
func failures(w *usage.Writer) func() int64 { return func() int64 { return w.Stats().Failures } }

// errDown is what a sink that is down answers.
var errDown = errors.New("store down (injected)")

// faultySink wraps a sink with an outage switch and a count of failures
// to inject.
type faultySink struct {
	usage.Sink
	down     atomic.Bool
	failNext atomic.Int32
	calls    atomic.Int32
}

func (f *faultySink) InsertUsage(ctx context.Context, rs []usage.Record) error {
	f.calls.Add(1)
	if f.down.Load() || f.failNext.Add(-1) >= 0 {
		return errDown
	}
	return f.Sink.InsertUsage(ctx, rs)
}

// captureSink keeps every batch it is given.
type captureSink struct {
	mu      sync.Mutex
	batches [][]usage.Record
}

func (c *captureSink) InsertUsage(_ context.Context, rs []usage.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, slices.Clone(rs))
	return nil
}

// sizes returns the size of each batch so far.
func (c *captureSink) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, len(c.batches))
	for i, b := range c.batches {
		out[i] = len(b)
	}
	return out
}

func (c *captureSink) all() []usage.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Concat(c.batches...)
}

// testLogger writes to a test's output, shown when it fails; benchmarks
// discard it.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}
