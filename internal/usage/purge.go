package usage

import (
	"context"
	"log/slog"
	"time"
)

// DefaultPurgeInterval is how often a Purger runs when Run is given no
// interval.
const DefaultPurgeInterval = time.Hour

// PayloadPurger deletes logged prompts and answers older than a time.
// store.Store satisfies it.
type PayloadPurger interface {
	PurgePayloads(ctx context.Context, before time.Time) (int64, error)
}

// Purger enforces the retention of logged prompts and answers: it
// deletes the payloads of requests older than the retention, once at the
// start of Run and then at every interval. Usage records are kept.
type Purger struct {
	store     PayloadPurger
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// NewPurger returns a Purger that keeps payloads for retention; zero or
// less keeps them forever. A nil log is slog.Default().
func NewPurger(s PayloadPurger, retention time.Duration, log *slog.Logger) *Purger {
	if log == nil {
		log = slog.Default()
	}
	return &Purger{store: s, retention: retention, log: log, now: time.Now}
}

// Run purges at once and then every interval (DefaultPurgeInterval when
// zero or less) until ctx ends. It returns at once when the retention
// keeps payloads forever. A failed purge is logged and tried again at
// the next interval.
func (p *Purger) Run(ctx context.Context, every time.Duration) {
	if p.retention <= 0 {
		return
	}
	if every <= 0 {
		every = DefaultPurgeInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = p.PurgeOnce(ctx, p.now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PurgeOnce deletes the payloads older than the retention at now, logs
// how many, and returns that count. With no retention it deletes none.
func (p *Purger) PurgeOnce(ctx context.Context, now time.Time) (int64, error) {
	if p.retention <= 0 {
		return 0, nil
	}
	before := now.Add(-p.retention)
	n, err := p.store.PurgePayloads(ctx, before)
	if err != nil {
		if ctx.Err() == nil {
			p.log.ErrorContext(ctx, "usage: purging logged prompts failed; retrying at the next interval", "before", before.UTC(), "purged", n, "err", err)
		}
		return n, err
	}
	if n > 0 {
		p.log.InfoContext(ctx, "usage: purged logged prompts past their retention", "purged", n, "before", before.UTC(), "retention", p.retention)
	} else {
		p.log.DebugContext(ctx, "usage: no logged prompts past their retention", "before", before.UTC())
	}
	return n, nil
}
