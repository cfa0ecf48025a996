package usage

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// dropInterval is the least time between two log lines about drops.
const dropInterval = time.Minute

// dropLog logs dropped records at most once per dropInterval, with how
// many were dropped since the last line, so an outage under load writes a
// line a minute instead of one per request.
type dropLog struct {
	log *slog.Logger
	// last is when the last line was written, in unix nanoseconds.
	last atomic.Int64
	// unlogged counts drops not yet in a line; total counts them all.
	unlogged, total atomic.Int64
	// reason is the latest drop's cause.
	reason atomic.Pointer[dropReason]
}

// dropReason is why records were dropped.
type dropReason struct {
	what string
	err  error
}

// Reasons without an error, shared so that dropping allocates nothing.
var (
	dropQueueFull = &dropReason{what: "queue full and no spill file (set a spill directory or a larger queue)"}
	dropBadLine   = &dropReason{what: "unreadable line in the spill file"}
)

// add counts n drops and logs them unless a line went out less than
// dropInterval ago.
func (d *dropLog) add(n int64, r *dropReason) {
	d.unlogged.Add(n)
	d.total.Add(n)
	if d.reason.Load() != r {
		d.reason.Store(r)
	}
	d.tick()
}

// tick logs the unlogged drops if dropInterval has passed since the last
// line. Run calls it periodically, so the last drops of a burst are
// logged too.
func (d *dropLog) tick() {
	if d.unlogged.Load() == 0 {
		return
	}
	now := time.Now().UnixNano()
	last := d.last.Load()
	if last != 0 && now-last < int64(dropInterval) {
		return
	}
	if d.last.CompareAndSwap(last, now) {
		d.flush()
	}
}

// flush logs the unlogged drops now.
func (d *dropLog) flush() {
	n := d.unlogged.Swap(0)
	if n == 0 {
		return
	}
	attrs := []any{"dropped", n, "dropped_total", d.total.Load()}
	if r := d.reason.Load(); r != nil {
		attrs = append(attrs, "reason", r.what)
		if r.err != nil {
			attrs = append(attrs, "err", r.err)
		}
	}
	d.log.Error("usage: records dropped; they will not be in the usage data", attrs...)
}
