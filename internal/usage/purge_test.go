package usage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestPurgeOnce purges a real store: the payloads older than the
// retention go, the newer ones and every usage record stay.
func TestPurgeOnce(t *testing.T) {
	d := newSQLite(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var rs []usage.Record
	for i, age := range []time.Duration{50 * time.Hour, 25 * time.Hour, 23 * time.Hour, time.Minute} {
		rs = append(rs, usage.Record{Time: now.Add(-age), RequestID: fmt.Sprintf("r-%d", i), Status: 200, Prompt: "p", Response: "a"})
	}
	if err := d.InsertUsage(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	p := usage.NewPurger(d, 24*time.Hour, testLogger(t))
	if n, err := p.PurgeOnce(t.Context(), now); n != 2 || err != nil {
		t.Fatalf("PurgeOnce = %d, %v; want 2, nil", n, err)
	}
	for i, want := range []bool{false, false, true, true} {
		_, err := d.Payload(t.Context(), rs[i].RequestID)
		if got := err == nil; got != want || (err != nil && !errors.Is(err, store.ErrNotFound)) {
			t.Errorf("payload %s (age %v) kept = %v (%v), want %v", rs[i].RequestID, now.Sub(rs[i].Time), got, err, want)
		}
	}
	if n, err := p.PurgeOnce(t.Context(), now); n != 0 || err != nil {
		t.Errorf("second PurgeOnce = %d, %v; want 0, nil", n, err)
	}
	rows, err := d.QueryUsage(t.Context(), store.UsageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Requests != int64(len(rs)) {
		t.Errorf("usage records after purging = %d, want %d", rows[0].Requests, len(rs))
	}

	forever := usage.NewPurger(d, 0, testLogger(t))
	if n, err := forever.PurgeOnce(t.Context(), now.Add(1000*time.Hour)); n != 0 || err != nil {
		t.Errorf("PurgeOnce without retention = %d, %v; want 0, nil", n, err)
	}
}

// purgeCalls records the cutoffs a Purger asks for.
type purgeCalls struct {
	mu      sync.Mutex
	befores []time.Time
	err     error
}

func (c *purgeCalls) PurgePayloads(_ context.Context, before time.Time) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.befores = append(c.befores, before)
	return 0, c.err
}

func (c *purgeCalls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.befores)
}

// TestPurgerRun purges at the start and then at every interval, through
// failures, until its context ends.
func TestPurgerRun(t *testing.T) {
	calls := &purgeCalls{err: errors.New("database down")}
	p := usage.NewPurger(calls, time.Hour, testLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		p.Run(ctx, 5*time.Millisecond)
	}()
	eventually(t, "three purges", func() bool { return calls.count() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	calls.mu.Lock()
	defer calls.mu.Unlock()
	if before := calls.befores[0]; before.Before(start.Add(-time.Hour)) || before.After(time.Now().Add(-time.Hour)) {
		t.Errorf("first cutoff %v, want an hour before the start (%v)", before, start)
	}
}

// TestPurgerRunForever returns at once when payloads are kept forever.
func TestPurgerRunForever(t *testing.T) {
	calls := &purgeCalls{}
	for _, retention := range []time.Duration{0, -time.Hour} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			usage.NewPurger(calls, retention, testLogger(t)).Run(t.Context(), time.Millisecond)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Run with retention %v did not return", retention)
		}
	}
	if n := calls.count(); n != 0 {
		t.Errorf("%d purges without retention, want 0", n)
	}
}

// weekCalls records the compactions a Purger asks for.
type weekCalls struct {
	mu     sync.Mutex
	nows   []time.Time
	limits []int
}

func (c *weekCalls) CompactUsageWeeks(_ context.Context, now time.Time, limit int) (int, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nows, c.limits = append(c.nows, now), append(c.limits, limit)
	return 1, 2, nil
}

func (c *weekCalls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nows)
}

// TestPurgerWeeks: with WithWeeks, Run builds weekly rollups a few weeks
// at every interval, even when it purges nothing.
func TestPurgerWeeks(t *testing.T) {
	weeks := &weekCalls{}
	p := usage.NewPurger(&purgeCalls{}, 0, testLogger(t)).WithWeeks(weeks)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, 5*time.Millisecond)
	}()
	eventually(t, "two compactions", func() bool { return weeks.count() >= 2 })
	cancel()
	<-done
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	if built, left, err := p.CompactWeeksOnce(t.Context(), now); built != 1 || left != 2 || err != nil {
		t.Errorf("CompactWeeksOnce = %d, %d, %v; want 1, 2, nil", built, left, err)
	}
	weeks.mu.Lock()
	defer weeks.mu.Unlock()
	if weeks.limits[0] != 4 {
		t.Errorf("weeks a pass = %d, want 4", weeks.limits[0])
	}
	if got := weeks.nows[len(weeks.nows)-1]; !got.Equal(now) {
		t.Errorf("compacted at %v, want %v", got, now)
	}
}
