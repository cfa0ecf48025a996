package usage_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/spillwayhq/spillway/internal/usage"
)

// TestMain fails the run if a test leaves a goroutine behind: every Run
// returns, every store is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestWriterConcurrentRecords(t *testing.T) {
	d := newSQLite(t)
	w := usage.NewWriter(d, usage.WriterOptions{BatchSize: 100, FlushInterval: 10 * time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	rs := records("concurrent", 5000)
	recordAll(w, rs, 32)
	closeWriter(t, w, 30*time.Second)

	d.exactlyOnce(t, ids(rs))
	want := usage.WriterStats{Written: int64(len(rs))}
	if got := w.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestWriterBatchesBySize(t *testing.T) {
	sink := &captureSink{}
	// An interval no test waits for: only size can trigger a write.
	w := usage.NewWriter(sink, usage.WriterOptions{BatchSize: 10, FlushInterval: time.Hour, Logger: testLogger(t)})
	run(t, w)
	for _, r := range records("size", 25) {
		w.Record(r)
	}
	eventually(t, "two full batches", func() bool { return len(sink.sizes()) == 2 })
	eventually(t, "the other 5 records queued", func() bool { return w.Stats().Queued == 5 })
	if diff := cmp.Diff([]int{10, 10}, sink.sizes()); diff != "" {
		t.Errorf("batches before Close (-want +got):\n%s", diff)
	}
	closeWriter(t, w, 10*time.Second)
	if diff := cmp.Diff([]int{10, 10, 5}, sink.sizes()); diff != "" {
		t.Errorf("batches after Close (-want +got):\n%s", diff)
	}
	if got, want := ids(sink.all()), ids(records("size", 25)); !cmp.Equal(got, want) {
		t.Errorf("records out of order:\n%s", cmp.Diff(want, got))
	}
}

func TestWriterBatchesByInterval(t *testing.T) {
	sink := &captureSink{}
	w := usage.NewWriter(sink, usage.WriterOptions{BatchSize: 1000, FlushInterval: 5 * time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	rs := records("interval", 6)
	for _, r := range rs[:3] {
		w.Record(r)
	}
	eventually(t, "the first records written without a full batch", func() bool { return len(sink.all()) == 3 })
	for _, r := range rs[3:] {
		w.Record(r)
	}
	eventually(t, "the next records written too", func() bool { return len(sink.all()) == 6 })
	// Run counts a batch once the sink has returned, a moment after the
	// sink holds it.
	eventually(t, "Stats to say 6 written, none queued", func() bool {
		got := w.Stats()
		return got.Written == 6 && got.Queued == 0
	})
	closeWriter(t, w, 10*time.Second)
}

// TestWriterRetriesWithoutDuplicates fails inserts for a while under load:
// the writer keeps each batch and retries it, and the store's one
// transaction per batch leaves nothing behind a failed one.
func TestWriterRetriesWithoutDuplicates(t *testing.T) {
	d := newSQLite(t)
	sink := &faultySink{Sink: d}
	sink.failNext.Store(5)
	w := usage.NewWriter(sink, usage.WriterOptions{BatchSize: 50, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	rs := records("retry", 2000)
	recordAll(w, rs, 8)
	eventually(t, "every record written", func() bool { return w.Stats().Written == int64(len(rs)) })
	closeWriter(t, w, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	if got := w.Stats(); got.Failures != 5 || got.Dropped != 0 {
		t.Errorf("Stats = %+v, want 5 failures, none dropped", got)
	}
}

// TestWriterLostAnswers commits batches but reports failure, as a
// timeout during COMMIT does: the writer retries each, and the store
// recognises the retries, so every record is stored once.
func TestWriterLostAnswers(t *testing.T) {
	d := newSQLite(t)
	lost := 0
	sink := sinkFunc(func(ctx context.Context, rs []usage.Record) error {
		err := d.InsertUsage(ctx, rs)
		if err == nil && lost < 5 {
			lost++ // only the Run goroutine calls the sink
			return context.DeadlineExceeded
		}
		return err
	})
	w := usage.NewWriter(sink, usage.WriterOptions{BatchSize: 50, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	rs := records("lost-answer", 1000)
	recordAll(w, rs, 4)
	closeWriter(t, w, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	if got := w.Stats(); got.Failures != 5 || got.Written != int64(len(rs)) {
		t.Errorf("Stats = %+v, want 5 failures, %d written", got, len(rs))
	}
}

// TestWriterOutageSpills takes the store down under load with a tiny
// queue: records go to the spill file, and once the store is back every
// one arrives exactly once and the spill file is gone.
func TestWriterOutageSpills(t *testing.T) {
	d := newSQLite(t)
	dir := t.TempDir()
	sink := &faultySink{Sink: d}
	sink.down.Store(true)
	// However long the outage lasts on a loaded machine, the backoff stays
	// under 10 ms, so the writer is back at work soon after the store.
	opts := usage.WriterOptions{
		QueueSize: 8, BatchSize: 20, FlushInterval: time.Millisecond,
		RetryBackoff: time.Millisecond, MaxRetryBackoff: 10 * time.Millisecond, InsertTimeout: time.Second,
		SpillDir: dir, Logger: testLogger(t),
	}
	w := usage.NewWriter(sink, opts)
	run(t, w)
	rs := records("spill", 3000)
	recordAll(w, rs, 8)
	eventually(t, "inserts failing", func() bool { return w.Stats().Failures > 0 })
	if got := w.Stats(); got.Spilled == 0 || got.Written != 0 {
		t.Fatalf("during the outage: Stats = %+v, want records spilled and none written", got)
	}
	sink.down.Store(false)
	progress(t, "every record written", opts, written(w), func(n int64) bool { return n == int64(len(rs)) })
	closeWriter(t, w, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	if got := w.Stats(); got.Dropped != 0 {
		t.Errorf("Stats = %+v, want none dropped", got)
	}
	assertNoSpill(t, dir)
}

// TestWriterMaxRetryBackoff: the cap applies from the first wait, so a
// writer told to back off an hour but never more than a millisecond
// retries at once and writes everything when the store returns.
func TestWriterMaxRetryBackoff(t *testing.T) {
	sink := &faultySink{Sink: &captureSink{}}
	sink.failNext.Store(3)
	w := usage.NewWriter(sink, usage.WriterOptions{BatchSize: 5, FlushInterval: time.Millisecond,
		RetryBackoff: time.Hour, MaxRetryBackoff: time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	rs := records("capped", 5)
	for _, r := range rs {
		w.Record(r)
	}
	eventually(t, "every record written after three failures", func() bool { return w.Stats().Written == int64(len(rs)) })
	if got := w.Stats().Failures; got != 3 {
		t.Errorf("Failures = %d, want 3", got)
	}
}

// TestWriterOutageMovesQueueToSpill: while Run waits out a failure, a
// queue filling past half moves to the spill file, before Record would
// have to spill record by record.
func TestWriterOutageMovesQueueToSpill(t *testing.T) {
	d := newSQLite(t)
	dir := t.TempDir()
	sink := &faultySink{Sink: d}
	sink.down.Store(true)
	w := usage.NewWriter(sink, usage.WriterOptions{
		QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond, RetryBackoff: time.Hour,
		SpillDir: dir, Logger: testLogger(t),
	})
	run(t, w)
	rs := records("move", 70)
	for _, r := range rs[:10] {
		w.Record(r)
	}
	eventually(t, "the first batch failing", func() bool { return w.Stats().Failures == 1 })
	for _, r := range rs[10:] {
		w.Record(r) // 60 fit in the queue: Record spills none itself
	}
	eventually(t, "the queue moved to the spill file", func() bool { return w.Stats().Spilled == 60 })
	if got := w.Stats(); got.Queued != 10 {
		t.Errorf("Stats = %+v, want the failed batch of 10 still queued", got)
	}
	sink.down.Store(false)
	// The hour of backoff ends with Close, which writes the batch; the
	// spill file is left for the next Writer, which replays it.
	closeWriter(t, w, 10*time.Second)
	next := usage.NewWriter(sink, usage.WriterOptions{SpillDir: dir, Logger: testLogger(t)})
	run(t, next)
	eventually(t, "the spill file replayed", func() bool { return next.Stats().Written == 60 })
	closeWriter(t, next, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	assertNoSpill(t, dir)
}

// TestWriterCloseDuringOutage closes while the store is down: Close keeps
// the records in the spill file, and the next Writer replays them.
func TestWriterCloseDuringOutage(t *testing.T) {
	d := newSQLite(t)
	dir := t.TempDir()
	sink := &faultySink{Sink: d}
	sink.down.Store(true)
	opts := usage.WriterOptions{BatchSize: 40, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, SpillDir: dir, Logger: testLogger(t)}
	first := usage.NewWriter(sink, opts)
	run(t, first)
	rs := records("close", 300)
	recordAll(first, rs, 4)
	closeWriter(t, first, 100*time.Millisecond) // the store is still down
	if got := first.Stats(); got.Written != 0 || got.Spilled != int64(len(rs)) || got.Dropped != 0 {
		t.Errorf("first writer: Stats = %+v, want all %d spilled, none written or dropped", got, len(rs))
	}
	if n := spillLines(t, dir); n != len(rs) {
		t.Errorf("spill files hold %d records, want %d", n, len(rs))
	}

	sink.down.Store(false)
	second := usage.NewWriter(sink, opts)
	run(t, second)
	eventually(t, "the spilled records written", func() bool { return second.Stats().Written == int64(len(rs)) })
	closeWriter(t, second, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	assertNoSpill(t, dir)
}

// TestWriterReplayResumes stops a replay half way: the next Writer
// resumes after what was written, so nothing is written twice.
func TestWriterReplayResumes(t *testing.T) {
	d := newSQLite(t)
	dir := t.TempDir()
	sink := &faultySink{Sink: d}
	opts := usage.WriterOptions{BatchSize: 10, FlushInterval: time.Hour, RetryBackoff: time.Millisecond, SpillDir: dir, Logger: testLogger(t)}
	rs := records("resume", 35)

	// Leave 35 records in the spill file.
	sink.down.Store(true)
	first := usage.NewWriter(sink, opts)
	for _, r := range rs {
		first.Record(r)
	}
	closeWriter(t, first, 10*time.Millisecond)

	// Replay one batch, then the store fails again and the writer closes.
	second := usage.NewWriter(&stopAfter{Sink: sink, n: 1}, opts)
	sink.down.Store(false)
	run(t, second)
	eventually(t, "one batch replayed", func() bool { return second.Stats().Written == 10 })
	closeWriter(t, second, 10*time.Millisecond)

	third := usage.NewWriter(sink, opts)
	run(t, third)
	eventually(t, "the rest replayed", func() bool { return third.Stats().Written == 25 })
	closeWriter(t, third, 10*time.Second)
	d.exactlyOnce(t, ids(rs))
	assertNoSpill(t, dir)
}

// stopAfter lets n inserts through, then fails every one.
type stopAfter struct {
	usage.Sink
	mu sync.Mutex
	n  int
}

func (s *stopAfter) InsertUsage(ctx context.Context, rs []usage.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return errDown
	}
	s.n--
	return s.Sink.InsertUsage(ctx, rs)
}

// TestWriterCloseWithoutSpillReportsLost: no spill file and a store that
// never answers: Close says how many records it lost, and counts them.
func TestWriterCloseWithoutSpillReportsLost(t *testing.T) {
	sink := &faultySink{Sink: &captureSink{}}
	sink.down.Store(true)
	w := usage.NewWriter(sink, usage.WriterOptions{RetryBackoff: time.Millisecond, Logger: testLogger(t)})
	run(t, w)
	for _, r := range records("lost", 10) {
		w.Record(r)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 records") {
		t.Errorf("Close = %v, want an error naming 10 records", err)
	}
	if got := w.Stats(); got.Dropped != 10 || got.Queued != 0 {
		t.Errorf("Stats = %+v, want 10 dropped, none queued", got)
	}
	if err := w.Close(t.Context()); err != usage.ErrWriterClosed {
		t.Errorf("second Close = %v, want ErrWriterClosed", err)
	}
}

// TestWriterDropsAreCountedAndLogged fills a queue nobody drains, with no
// spill file: every record past it is counted, and logged once, with the
// count, however many there are.
func TestWriterDropsAreCountedAndLogged(t *testing.T) {
	var logs lockedBuffer
	sink := &captureSink{}
	w := usage.NewWriter(sink, usage.WriterOptions{QueueSize: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, r := range records("drop", 10) {
		w.Record(r) // returns at once, though nothing drains the queue
	}
	if got := w.Stats(); got.Queued != 4 || got.Dropped != 6 {
		t.Errorf("Stats = %+v, want 4 queued, 6 dropped", got)
	}
	for _, r := range records("drop-more", 10) {
		w.Record(r)
	}
	if n := strings.Count(logs.String(), "records dropped"); n != 1 {
		t.Errorf("%d log lines about drops, want 1 (at most one a minute):\n%s", n, logs.String())
	}
	// Close without Run writes the queue and logs the drops not yet logged.
	closeWriter(t, w, 10*time.Second)
	if got := len(sink.all()); got != 4 {
		t.Errorf("%d records written by Close, want 4", got)
	}
	if !strings.Contains(logs.String(), "dropped=15") || !strings.Contains(logs.String(), "dropped_total=16") {
		t.Errorf("the log does not count the later drops:\n%s", logs.String())
	}
}

// TestWriterRecordAfterClose: a late record goes to the spill file if
// there is one, else it is counted as dropped.
func TestWriterRecordAfterClose(t *testing.T) {
	dir := t.TempDir()
	for _, spillDir := range []string{"", dir} {
		w := usage.NewWriter(&captureSink{}, usage.WriterOptions{SpillDir: spillDir, Logger: testLogger(t)})
		closeWriter(t, w, time.Second)
		w.Record(records("late", 1)[0])
		want := usage.WriterStats{Dropped: 1}
		if spillDir != "" {
			want = usage.WriterStats{Spilled: 1}
		}
		if got := w.Stats(); got != want {
			t.Errorf("spill dir %q: Stats = %+v, want %+v", spillDir, got, want)
		}
	}
	if n := spillLines(t, dir); n != 1 {
		t.Errorf("spill file holds %d records, want 1", n)
	}
}

// TestWriterRunStops cancels Run's ctx: it writes what is queued before
// returning, and Close writes what came later.
func TestWriterRunStops(t *testing.T) {
	sink := &captureSink{}
	w := usage.NewWriter(sink, usage.WriterOptions{FlushInterval: time.Hour, Logger: testLogger(t)})
	stop := run(t, w)
	rs := records("stop", 30)
	for _, r := range rs[:20] {
		w.Record(r)
	}
	stop()
	if got := len(sink.all()); got != 20 {
		t.Errorf("%d records written when Run returned, want 20", got)
	}
	for _, r := range rs[20:] {
		w.Record(r)
	}
	closeWriter(t, w, 10*time.Second)
	if got := ids(sink.all()); !cmp.Equal(got, ids(rs)) {
		t.Errorf("written (-want +got):\n%s", cmp.Diff(ids(rs), got))
	}
}

// TestWriterCloseAbortsHungInsert: Close's deadline ends an insert that
// hangs, so shutdown is not held up by InsertTimeout.
func TestWriterCloseAbortsHungInsert(t *testing.T) {
	dir := t.TempDir()
	entered := make(chan struct{}, 1)
	hung := sinkFunc(func(ctx context.Context, _ []usage.Record) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	})
	w := usage.NewWriter(hung, usage.WriterOptions{BatchSize: 1, InsertTimeout: time.Hour, SpillDir: dir, Logger: testLogger(t)})
	run(t, w)
	w.Record(records("hung", 1)[0])
	<-entered
	closeWriter(t, w, 20*time.Millisecond)
	if n := spillLines(t, dir); n != 1 {
		t.Errorf("spill file holds %d records, want the 1 that hung", n)
	}
}

type sinkFunc func(ctx context.Context, rs []usage.Record) error

func (f sinkFunc) InsertUsage(ctx context.Context, rs []usage.Record) error { return f(ctx, rs) }

// BenchmarkRecord measures the cost of Record on the request path, with
// Run draining the queue into a sink that takes everything at once.
func BenchmarkRecord(b *testing.B) {
	w := usage.NewWriter(sinkFunc(func(context.Context, []usage.Record) error { return nil }), usage.WriterOptions{Logger: testLogger(b)})
	run(b, w)
	r := records("bench", 1)[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
	b.StopTimer()
	closeWriter(b, w, 10*time.Second)
	st := w.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(st.Written+st.Dropped), "dropped/op")
}

// spillLines counts the records waiting in dir's spill files.
func spillLines(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// assertNoSpill checks that every spill file was replayed and removed.
func assertNoSpill(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 0 {
			t.Errorf("%s left behind with %d bytes", e.Name(), fi.Size())
		}
	}
}

// lockedBuffer is a bytes.Buffer a logger and a test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWriterStoresPayloads: a record's logged prompt and answer reach the
// store with it, through the spill file too.
func TestWriterStoresPayloads(t *testing.T) {
	d := newSQLite(t)
	dir := t.TempDir()
	spilled := usage.Record{Time: time.Now().UTC(), RequestID: "spilled", Status: 200, Prompt: "p1\n", Response: "a1"}
	direct := usage.Record{Time: time.Now().UTC(), RequestID: "direct", Status: 200, Prompt: "p2", Response: "a2\x00"}

	first := usage.NewWriter(d, usage.WriterOptions{SpillDir: dir, Logger: testLogger(t)})
	closeWriter(t, first, time.Second) // so Record spills
	first.Record(spilled)
	second := usage.NewWriter(d, usage.WriterOptions{SpillDir: dir, FlushInterval: 10 * time.Millisecond, Logger: testLogger(t)})
	run(t, second)
	second.Record(direct)
	eventually(t, "both records written", func() bool { return second.Stats().Written == 2 })
	closeWriter(t, second, 10*time.Second)

	for _, want := range [][3]string{{"spilled", "p1\n", "a1"}, {"direct", "p2", "a2"}} {
		p, err := d.Payload(t.Context(), want[0])
		if err != nil {
			t.Fatalf("Payload(%q): %v", want[0], err)
		}
		if p.Prompt != want[1] || p.Response != want[2] {
			t.Errorf("Payload(%q) = %q, %q; want %q, %q", want[0], p.Prompt, p.Response, want[1], want[2])
		}
	}
}

// BenchmarkRecordOne is Record from one goroutine, as one request after
// another makes it, with Run draining the queue into a sink that takes
// everything at once; dropped/op says whether Run kept up.
func BenchmarkRecordOne(b *testing.B) {
	w := usage.NewWriter(sinkFunc(func(context.Context, []usage.Record) error { return nil }), usage.WriterOptions{Logger: testLogger(b)})
	run(b, w)
	r := records("bench", 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		w.Record(r)
	}
	b.StopTimer()
	closeWriter(b, w, 10*time.Second)
	st := w.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(st.Written+st.Dropped), "dropped/op")
}
