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
// start of Run and then at every interval; WithRecords adds the retention
// of raw usage records. Rollups are kept.
type Purger struct {
	store     PayloadPurger
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time
	// records and recordRetention purge raw usage records; see
	// WithRecords.
	records         RecordPurger
	recordRetention time.Duration
	// weeks builds weekly rollups; see WithWeeks.
	weeks WeekCompactor
}

// WeekCompactor builds the weekly rollups of closed weeks from their
// daily ones, up to limit weeks a call. store.Store satisfies it.
type WeekCompactor interface {
	CompactUsageWeeks(ctx context.Context, now time.Time, limit int) (built, left int, err error)
}

// weeksPerPass is how many weeks one pass of the Purger builds: an
// upgraded database gets a year of weeks in under a day of passes.
const weeksPerPass = 4

// WithWeeks makes p also build the weekly rollups of closed weeks at
// every interval, weeksPerPass at a time. It returns p.
func (p *Purger) WithWeeks(c WeekCompactor) *Purger {
	p.weeks = c
	return p
}

// CompactWeeksOnce builds the weekly rollups of up to weeksPerPass weeks
// ended by now that have none or stale ones, and logs progress.
func (p *Purger) CompactWeeksOnce(ctx context.Context, now time.Time) (built, left int, err error) {
	if p.weeks == nil {
		return 0, 0, nil
	}
	built, left, err = p.weeks.CompactUsageWeeks(ctx, now, weeksPerPass)
	if err != nil {
		if ctx.Err() == nil {
			p.log.ErrorContext(ctx, "usage: building weekly rollups failed; reads use daily ones; retrying at the next interval", "built", built, "err", err)
		}
		return built, left, err
	}
	if built > 0 {
		p.log.InfoContext(ctx, "usage: built weekly rollups", "weeks", built, "left", left)
	}
	return built, left, nil
}

// RecordPurger deletes raw usage records older than a time, up to limit
// at a time; rollups stay. store.Store satisfies it.
type RecordPurger interface {
	PurgeUsage(ctx context.Context, before time.Time, limit int) (int64, error)
}

// recordPurgeBatch is how many raw records one delete removes: small, so
// SQLite's single writer goes back to inserts between deletes.
const recordPurgeBatch = 5000

// WithRecords makes p also delete raw usage records older than retention
// (zero or less keeps them), in batches of recordPurgeBatch. It returns p.
func (p *Purger) WithRecords(s RecordPurger, retention time.Duration) *Purger {
	p.records, p.recordRetention = s, retention
	return p
}

// PurgeRecordsOnce deletes the raw records older than the record
// retention at now, batch after batch, and returns how many.
func (p *Purger) PurgeRecordsOnce(ctx context.Context, now time.Time) (int64, error) {
	if p.records == nil || p.recordRetention <= 0 {
		return 0, nil
	}
	before := now.Add(-p.recordRetention)
	var total int64
	for {
		n, err := p.records.PurgeUsage(ctx, before, recordPurgeBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				p.log.ErrorContext(ctx, "usage: purging raw usage records failed; retrying at the next interval", "before", before.UTC(), "purged", total, "err", err)
			}
			return total, err
		}
		if n == 0 {
			break
		}
	}
	if total > 0 {
		p.log.InfoContext(ctx, "usage: purged raw usage records past their retention; rollups are kept", "purged", total, "before", before.UTC(), "retention", p.recordRetention)
	}
	return total, nil
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
// zero or less) until ctx ends, and builds weekly rollups (WithWeeks).
// It returns at once when it has nothing to do. A failed purge is logged
// and tried again at the next interval.
func (p *Purger) Run(ctx context.Context, every time.Duration) {
	if p.retention <= 0 && (p.records == nil || p.recordRetention <= 0) && p.weeks == nil {
		return
	}
	if every <= 0 {
		every = DefaultPurgeInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := p.now()
		_, _ = p.PurgeOnce(ctx, now)
		_, _ = p.PurgeRecordsOnce(ctx, now)
		_, _, _ = p.CompactWeeksOnce(ctx, now)
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
