package usage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// overflowCheck is how often Run, waiting out a store outage, looks at
// the queue; past half full it moves the queue to the spill file, so that
// Record keeps finding room instead of spilling record by record.
const overflowCheck = 50 * time.Millisecond

// Run writes queued records until ctx is done or Close is called; run it
// in one goroutine. On ctx it makes one last attempt to write what is
// queued (moving what fails to the spill file, if any) and returns;
// records that arrive later wait for Close. On Close it performs Close's
// flush and returns. A second concurrent Run returns at once.
func (w *Writer) Run(ctx context.Context) {
	select {
	case w.owner <- struct{}{}:
	default:
		w.log.ErrorContext(ctx, "usage: Writer.Run called while another Run is running; this one returns")
		return
	}
	defer func() { <-w.owner }()

	w.flushTimer = time.NewTimer(w.o.FlushInterval)
	w.flushTimer.Stop()
	defer w.flushTimer.Stop()
	minute := time.NewTicker(time.Minute)
	defer minute.Stop()
	// A batch an earlier Run could not write goes first.
	w.ready = len(w.batch) > 0

	for {
		select {
		case <-w.closing:
			w.finishForClose()
			return
		case <-ctx.Done():
			w.stop(ctx)
			return
		default:
		}

		if w.ready {
			if !w.writeBatch(ctx, context.WithoutCancel(ctx)) && !w.wait(ctx) {
				return
			}
			continue
		}
		// Oldest first: what waited in the spill file goes before the
		// queue, once the store takes writes.
		if len(w.batch) == 0 && w.spill != nil && w.spill.backlog() {
			w.readSpill(ctx)
			continue
		}

		select {
		case <-w.closing:
		case <-ctx.Done():
		case <-w.queue.ready:
			w.gather()
		case <-w.flushTimer.C:
			w.ready = len(w.batch) > 0
		case <-minute.C:
			w.drops.tick()
		}
	}
}

// gather moves what is queued to the batch, up to a full one.
func (w *Writer) gather() {
	before := len(w.batch)
	w.fill()
	switch n := len(w.batch); {
	case n >= w.o.BatchSize:
		w.flushTimer.Stop()
		w.ready = true
	case before == 0 && n > 0:
		w.flushTimer.Reset(w.o.FlushInterval)
	}
}

// readSpill makes the next records of the spill file the batch.
func (w *Writer) readSpill(ctx context.Context) {
	records, next, bad, err := w.spill.read(w.o.BatchSize)
	if bad > 0 {
		w.drop(int64(bad), dropBadLine)
	}
	if err != nil {
		// The file cannot be read: it stays where it is for the operator
		// and the next start, and this Writer stops replaying it.
		w.log.ErrorContext(ctx, "usage: cannot replay the spill file; it is left for the next start", "file", w.spill.path, "err", err)
		return
	}
	if len(records) == 0 {
		return
	}
	w.batch = append(w.batch[:0], records...)
	w.fromSpill, w.spillNext, w.ready = true, next, true
}

// writeBatch inserts the batch once, bounded by InsertTimeout under
// parent, and reports whether it was written.
func (w *Writer) writeBatch(ctx, parent context.Context) bool {
	ictx, cancel := context.WithTimeout(parent, w.o.InsertTimeout)
	w.setInflight(cancel)
	err := w.sink.InsertUsage(ictx, w.batch)
	w.setInflight(nil)
	cancel()
	if err != nil {
		w.failures.Add(1)
		w.consecutiveErr++
		w.log.WarnContext(ctx, "usage: insert failed; the batch is kept and retried", "records", len(w.batch), "failures_in_a_row", w.consecutiveErr, "retry_in", w.backoff, "err", err)
		return false
	}
	if w.consecutiveErr > 0 {
		w.log.InfoContext(ctx, "usage: inserts succeed again", "after_failures", w.consecutiveErr)
	}
	w.consecutiveErr, w.spillNoted = 0, false
	w.backoff = w.o.RetryBackoff
	w.written.Add(int64(len(w.batch)))
	if w.fromSpill {
		if err := w.spill.commit(w.spillNext); err != nil {
			w.log.ErrorContext(ctx, "usage: cannot record replay progress in the spill file; a restart may write some records twice", "file", w.spill.path, "err", err)
		}
	}
	w.clearBatch()
	return true
}

func (w *Writer) clearBatch() {
	if len(w.batch) < cap(w.batch)/4 {
		// Traffic fell (or never came): a small batch went out on the
		// FlushInterval. The buffer a busier time grew goes too, so that
		// an idle Writer holds no batch.
		w.batch = nil
	} else {
		clear(w.batch) // let the strings go
		w.batch = w.batch[:0]
	}
	w.fromSpill, w.ready = false, false
	w.batchLen.Store(0)
}

// wait sleeps the backoff after a failed insert, moving the queue to the
// spill file when it fills up meanwhile. It reports false when Run must
// return: Close was called (and handled) or ctx is done.
func (w *Writer) wait(ctx context.Context) bool {
	timer := time.NewTimer(w.backoff)
	defer timer.Stop()
	w.backoff = min(w.backoff*2, w.o.MaxRetryBackoff)
	check := time.NewTicker(overflowCheck)
	defer check.Stop()
	for {
		select {
		case <-timer.C:
			return true
		case <-check.C:
			if w.spill != nil && w.queue.len() >= w.queue.max/2 {
				w.moveQueueToSpill(ctx)
			}
			w.drops.tick()
		case <-w.closing:
			w.finishForClose()
			return false
		case <-ctx.Done():
			w.stop(ctx)
			return false
		}
	}
}

// moveQueueToSpill appends what is queued now to the spill file and
// returns how many records did not fit.
func (w *Writer) moveQueueToSpill(ctx context.Context) (dropped int64) {
	n := w.queue.len()
	return w.spillRecords(ctx, w.queue.take(make([]Record, 0, n), n))
}

// spillRecords appends records to the spill file; those that do not fit
// are dropped and counted, and their number returned.
func (w *Writer) spillRecords(ctx context.Context, records []Record) (dropped int64) {
	if len(records) == 0 {
		return 0
	}
	n, err := w.spill.append(records)
	w.spilled.Add(int64(n))
	if n < len(records) {
		dropped = int64(len(records) - n)
		w.drop(dropped, &dropReason{what: "spill file", err: err})
	}
	if n > 0 && !w.spillNoted {
		// Once per outage: the insert failures already say it goes on.
		w.spillNoted = true
		w.log.InfoContext(ctx, "usage: moving records to the spill file until the store takes writes again", "records", n, "file", w.spill.path)
	}
	return dropped
}

// stop is Run's end when its ctx is done: one attempt per batch to write
// what is queued, without retries; after a failure the rest moves to the
// spill file, or without one stays queued for Close.
func (w *Writer) stop(ctx context.Context) {
	parent := context.WithoutCancel(ctx)
	// Only what is queued now: under load the queue would never empty.
	batches := (w.queue.len()+w.o.BatchSize-1)/w.o.BatchSize + 1
	for range batches {
		if len(w.batch) == 0 {
			w.fill()
		}
		if len(w.batch) == 0 {
			return
		}
		if !w.writeBatch(ctx, parent) {
			if w.spill != nil {
				w.spillLeftovers(ctx)
			}
			return
		}
	}
}

// fill takes up to a batch from the queue without waiting. The batch's
// buffer grows to what the queue holds, up to BatchSize records, instead
// of being allocated whole (see clearBatch).
func (w *Writer) fill() {
	if k := min(w.queue.len(), w.o.BatchSize-len(w.batch)); k > 0 {
		w.batch = w.queue.take(slices.Grow(w.batch, k), k)
	}
	w.batchLen.Store(int64(len(w.batch)))
}

// spillLeftovers moves the batch (unless it came from the spill file,
// where it still is) and the queue to the spill file, and returns how
// many records did not fit.
func (w *Writer) spillLeftovers(ctx context.Context) (dropped int64) {
	if !w.fromSpill {
		dropped = w.spillRecords(ctx, w.batch)
	}
	w.clearBatch()
	// One pass: after Close nothing more enters the queue, and after
	// Run's ctx what enters waits for Close.
	return dropped + w.moveQueueToSpill(ctx)
}

// finishForClose performs Close's flush from Run and hands Close the
// result.
func (w *Writer) finishForClose() {
	select {
	case ctx := <-w.closeReq:
		w.finished <- w.finish(ctx)
	default:
		// A Run started after Close did the flush itself: nothing to do.
	}
}

// finish is Close's flush, done by the owner: write the batch and the
// queue (no more records enter it), retrying until ctx is done; then
// spill or count what is left.
func (w *Writer) finish(ctx context.Context) error {
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
	var err error
	for {
		if len(w.batch) == 0 {
			w.fill()
		}
		if len(w.batch) == 0 {
			break
		}
		if w.writeBatch(ctx, ctx) {
			continue
		}
		if err = w.sleep(ctx); err != nil {
			break
		}
	}
	left := int64(w.queue.len()) + w.batchLen.Load()
	switch {
	case left == 0:
		err = nil
	case w.spill != nil:
		lost := w.spillLeftovers(ctx)
		w.log.WarnContext(ctx, "usage: the store did not take every record before Close's deadline; the rest wait in the spill file for the next start", "records", left-lost, "file", w.spill.path, "err", err)
		err = nil
		if lost > 0 {
			err = fmt.Errorf("usage: %d records could neither be written before Close's deadline nor spilled, and were dropped", lost)
		}
	default:
		w.clearBatch()
		w.queue.drop()
		w.drop(left, &dropReason{what: "Close ran out of time and there is no spill file", err: err})
		err = fmt.Errorf("usage: %d records could not be written before Close's deadline and were dropped: %w", left, err)
	}
	if w.spill != nil {
		if cerr := w.spill.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("usage: spill file: %w", cerr))
		}
	}
	w.drops.flush()
	return err
}

// sleep waits the backoff, or returns ctx's error.
func (w *Writer) sleep(ctx context.Context) error {
	timer := time.NewTimer(w.backoff)
	defer timer.Stop()
	w.backoff = min(w.backoff*2, w.o.MaxRetryBackoff)
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setInflight records the cancel func of the insert under way (nil when
// none); abortInsert calls it, and cancels every later insert at once.
func (w *Writer) setInflight(cancel context.CancelFunc) {
	w.inflightMu.Lock()
	defer w.inflightMu.Unlock()
	if cancel != nil && w.aborted {
		cancel()
	}
	w.inflight = cancel
}

func (w *Writer) abortInsert() {
	w.inflightMu.Lock()
	defer w.inflightMu.Unlock()
	w.aborted = true
	if w.inflight != nil {
		w.inflight()
	}
}
