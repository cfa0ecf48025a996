package usage

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
)

// Backlog is the store's side of rolling up the records written before
// rollups existed. store.Store satisfies it.
type Backlog interface {
	RollUpUsageBacklog(ctx context.Context) (int64, error)
	UsageBacklog(ctx context.Context) (int64, error)
}

// BacklogRoller rolls up an upgraded database's existing records in the
// background, a chunk (an hour of records) per transaction, logging
// progress; until it is done the store answers usage reads from raw
// records, slower but exact. Status reports where it stands for
// /health/readiness.
type BacklogRoller struct {
	store Backlog
	log   *slog.Logger
	// left is the records still to roll up, -1 before the first count;
	// moved those rolled up by this replica.
	left, moved atomic.Int64
	done        atomic.Bool
}

// NewBacklogRoller returns a roller for s; a nil log is slog.Default().
func NewBacklogRoller(s Backlog, log *slog.Logger) *BacklogRoller {
	if log == nil {
		log = slog.Default()
	}
	r := &BacklogRoller{store: s, log: log}
	r.left.Store(-1)
	return r
}

// backlogRetry is how long Run waits after a failed chunk.
const backlogRetry = 30 * time.Second

// Run rolls up chunks until none is left or ctx ends. A failed chunk
// (the store down) is logged and tried again after backlogRetry.
func (r *BacklogRoller) Run(ctx context.Context) {
	left, err := r.store.UsageBacklog(ctx)
	for err != nil {
		if ctx.Err() != nil {
			return
		}
		r.log.WarnContext(ctx, "usage: cannot count the records to roll up; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backlogRetry):
		}
		left, err = r.store.UsageBacklog(ctx)
	}
	r.left.Store(left)
	if left == 0 {
		r.done.Store(true)
		return
	}
	r.log.InfoContext(ctx, "usage: rolling up existing records in the background; usage reads scan raw records until done", "records", left)
	start, lastLog := time.Now(), time.Now()
	for ctx.Err() == nil {
		n, err := r.store.RollUpUsageBacklog(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.WarnContext(ctx, "usage: rolling up existing records failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backlogRetry):
			}
			continue
		}
		if n == 0 {
			r.left.Store(0)
			r.done.Store(true)
			r.log.InfoContext(ctx, "usage: existing records rolled up; usage reads use rollups", "moved", r.moved.Load(), "took", time.Since(start).Round(time.Second))
			return
		}
		r.moved.Add(n)
		r.left.Store(max(left-r.moved.Load(), 0))
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			r.log.InfoContext(ctx, "usage: rolling up existing records", "moved", r.moved.Load(), "left", r.left.Load())
		}
	}
}

// Status reports whether the rollups hold every record and, when not,
// a sentence for /health/readiness saying how far the roll-up is.
func (r *BacklogRoller) Status() (ready bool, detail string) {
	if r.done.Load() {
		return true, "ready"
	}
	left := r.left.Load()
	if left < 0 {
		return false, "checking for records written before rollups"
	}
	return false, "rolling up existing records in the background: " + strconv.FormatInt(r.moved.Load(), 10) + " done, about " + strconv.FormatInt(left, 10) + " left; usage reads scan raw records until then"
}
