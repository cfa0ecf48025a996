package usage

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Sink stores batches of records. store.Store satisfies it. A call that
// fails must have stored none of the records, and a call repeating a
// batch that did commit (its answer lost to a timeout) must store nothing,
// so the writer can retry a batch until it succeeds without writing any
// record twice. The store does both: one transaction per batch, which
// first claims the batch's hash.
type Sink interface {
	InsertUsage(ctx context.Context, records []Record) error
}

// WriterOptions configure a Writer. Zero values take the defaults.
type WriterOptions struct {
	// QueueSize is how many records wait in memory for the store.
	// Default 10000. The memory is taken as records wait (see queue), so
	// a large QueueSize costs nothing until a burst or an outage uses it.
	QueueSize int
	// BatchSize is the most records one insert carries. Default 5000:
	// under load batches fill to it, and a store write costs far less
	// per record in large batches (each upserts a rollup row per key it
	// touches, whatever its size; see store.InsertUsage). When records
	// come slower, FlushInterval sends a smaller batch, so a record waits
	// no longer than with small batches.
	BatchSize int
	// FlushInterval is the longest a record waits for its batch to fill
	// before it is written anyway. Default 1s.
	FlushInterval time.Duration
	// SpillDir holds the spill file (usage-spill.jsonl, one JSON record a
	// line, and while it is replayed usage-spill.replaying.jsonl and
	// .offset): records that do not fit in the queue, or wait out a store
	// outage, go there and are written to the store, oldest first, once
	// it is back, or by the next Writer on the same directory. Each
	// process needs a directory of its own. Default "": no spill file;
	// records that do not fit in the queue are dropped and counted.
	SpillDir string
	// MaxSpillBytes caps the spill files together; records past it are
	// dropped and counted. Default 256 MiB.
	MaxSpillBytes int64
	// RetryBackoff is the first wait after a failed insert; it doubles
	// with each failure in a row, up to MaxRetryBackoff. Default 500ms.
	RetryBackoff time.Duration
	// MaxRetryBackoff caps that doubling: after an outage of any length
	// the next attempt is at most this far away. Default 30s.
	MaxRetryBackoff time.Duration
	// InsertTimeout bounds one insert, so a hung database counts as a
	// failure instead of stalling the writer. Default 5s.
	InsertTimeout time.Duration
	// Logger receives failures and drops (drops at most once a minute,
	// with their count). Default slog.Default().
	Logger *slog.Logger
}

// Defaults of WriterOptions.
const (
	DefaultQueueSize       = 10000
	DefaultBatchSize       = 5000
	DefaultFlushInterval   = time.Second
	DefaultMaxSpillBytes   = 256 << 20
	DefaultRetryBackoff    = 500 * time.Millisecond
	DefaultInsertTimeout   = 5 * time.Second
	DefaultMaxRetryBackoff = 30 * time.Second
)

// SpillFile is the name of the spill file in WriterOptions.SpillDir.
const SpillFile = "usage-spill.jsonl"

// ErrWriterClosed is returned by a second Close.
var ErrWriterClosed = errors.New("usage: writer already closed")

// Writer stores usage records asynchronously, in batches, so that a
// request never waits on the store: Record only puts the record on a
// queue. Run, the single goroutine that owns the queue, writes batches by
// size or age; when the store fails it keeps the batch and retries with
// backoff, moving the records that pile up meanwhile to the spill file if
// there is one. Close writes what is left. Every record is written once,
// left in the spill file for the next start, or counted in
// WriterStats.Dropped and logged; none is lost silently.
type Writer struct {
	sink  Sink
	o     WriterOptions
	log   *slog.Logger
	queue *queue
	spill *spill // nil without SpillDir
	drops dropLog

	// mu closes the door: Record holds it shared while it enqueues, so
	// once Close has set closed no record can slip into the queue after
	// the final flush drained it.
	mu     sync.RWMutex
	closed bool

	// closing is closed by Close; closeReq then holds Close's context for
	// whoever performs the final flush.
	closing  chan struct{}
	closeReq chan context.Context
	// owner is a token held by whoever drains the queue: Run for as long
	// as it runs, or Close when Run does not. finished carries the result
	// of a final flush Run performed for Close.
	owner    chan struct{}
	finished chan error

	// The owner's state.
	batch          []Record // being collected, or written and retried
	ready          bool     // batch is to be written now
	fromSpill      bool     // batch was read from the spill file
	spillNext      int64    // the spill offset after batch, when fromSpill
	backoff        time.Duration
	flushTimer     *time.Timer
	consecutiveErr int
	spillNoted     bool // the move to the spill file was logged

	// inflight cancels the insert under way, so a Close that runs out of
	// time is not held up by it.
	inflightMu sync.Mutex
	inflight   context.CancelFunc
	aborted    bool

	batchLen                   atomic.Int64 // len(batch) unless fromSpill
	written, spilled, failures atomic.Int64
}

// WriterStats are a Writer's counters since NewWriter.
type WriterStats struct {
	// Queued is how many records wait in memory now: the queue and the
	// batch being written.
	Queued int64
	// Written counts records the sink stored, replayed ones included.
	Written int64
	// Spilled counts records appended to the spill file.
	Spilled int64
	// Dropped counts records lost: the queue full without a spill file,
	// the spill file full or failing, an unreadable spill line, or a
	// Close that ran out of time without a spill file.
	Dropped int64
	// Failures counts failed inserts.
	Failures int64
}

// NewWriter returns a Writer that stores records in sink. Start Run; a
// spill file left by an earlier Writer on o.SpillDir is replayed first.
func NewWriter(sink Sink, o WriterOptions) *Writer {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxSpillBytes <= 0 {
		o.MaxSpillBytes = DefaultMaxSpillBytes
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.MaxRetryBackoff <= 0 {
		o.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	o.RetryBackoff = min(o.RetryBackoff, o.MaxRetryBackoff)
	if o.InsertTimeout <= 0 {
		o.InsertTimeout = DefaultInsertTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &Writer{
		sink:     sink,
		o:        o,
		log:      o.Logger,
		queue:    newQueue(o.QueueSize),
		closing:  make(chan struct{}),
		closeReq: make(chan context.Context, 1),
		owner:    make(chan struct{}, 1),
		finished: make(chan error, 1),
		backoff:  o.RetryBackoff,
	}
	w.drops.log = o.Logger
	if o.SpillDir != "" {
		w.spill = openSpill(filepath.Join(o.SpillDir, SpillFile), o.MaxSpillBytes, o.Logger)
	}
	return w
}

// Record queues r for the store. It never waits: when the queue is full
// (or the Writer closed) r goes to the spill file, or without one is
// dropped and counted.
func (w *Writer) Record(r Record) {
	w.mu.RLock()
	if !w.closed && w.queue.push(r) {
		w.mu.RUnlock()
		return
	}
	w.mu.RUnlock()
	w.overflow(r)
}

// overflow keeps r in the spill file, or counts it as dropped.
func (w *Writer) overflow(r Record) {
	if w.spill == nil {
		w.drop(1, dropQueueFull)
		return
	}
	if _, err := w.spill.append([]Record{r}); err != nil {
		w.drop(1, &dropReason{what: "spill file", err: err})
		return
	}
	w.spilled.Add(1)
}

// drop counts n lost records and logs them, at most once a minute.
func (w *Writer) drop(n int64, r *dropReason) { w.drops.add(n, r) }

// Stats returns the counters. It is cheap: a few atomic loads.
func (w *Writer) Stats() WriterStats {
	return WriterStats{
		Queued:   int64(w.queue.len()) + w.batchLen.Load(),
		Written:  w.written.Load(),
		Spilled:  w.spilled.Load(),
		Dropped:  w.drops.total.Load(),
		Failures: w.failures.Load(),
	}
}

// Close stops accepting records (later ones go to the spill file or are
// dropped) and writes everything queued, retrying until ctx is done. What
// it could not write stays in the spill file for the next Writer; without
// a spill file it is lost, counted in Dropped, and reported in the error.
// If Run is running, Run performs this flush and then returns.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrWriterClosed
	}
	w.closed = true
	w.mu.Unlock()
	w.closeReq <- ctx // buffered: the only send
	close(w.closing)

	done := ctx.Done()
	for {
		select {
		case w.owner <- struct{}{}:
			// Run is not running. If it did the work before it left, its
			// result is waiting; else the request is still ours to do.
			select {
			case err := <-w.finished:
				<-w.owner
				return err
			default:
			}
			err := w.finish(<-w.closeReq)
			<-w.owner
			return err
		case err := <-w.finished:
			return err
		case <-done:
			// Run may be inside an insert that ignores ctx; end it, and
			// Run's final flush, out of time, spills what is left at once.
			w.abortInsert()
			done = nil
		}
	}
}
