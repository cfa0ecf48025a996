package usage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestPurgeRecordsOnce purges raw records past their retention from a
// real store, in batches, and leaves the rollups: the whole-day total
// stays, export shows only the kept records.
func TestPurgeRecordsOnce(t *testing.T) {
	d := newSQLite(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var rs []usage.Record
	for i := range 12_000 {
		// Every 6 seconds back from now, 20 hours in all.
		rs = append(rs, usage.Record{Time: now.Add(-time.Duration(i) * 6 * time.Second), RequestID: fmt.Sprintf("r-%d", i), Status: 200, TotalTokens: 1})
	}
	if err := d.InsertUsage(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	p := usage.NewPurger(d, 0, testLogger(t)).WithRecords(d, 10*time.Hour)
	n, err := p.PurgeRecordsOnce(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	before := now.Add(-10 * time.Hour)
	var want int64
	for _, r := range rs {
		if r.Time.Before(before) {
			want++
		}
	}
	if n != want {
		t.Errorf("PurgeRecordsOnce = %d, want %d (more than one batch)", n, want)
	}
	var exported int64
	if err := d.ExportUsage(t.Context(), now.Add(-48*time.Hour), now.Add(time.Hour), func(r *usage.Record) error {
		exported++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := exported, int64(len(rs))-want; got != want {
		t.Errorf("records left = %d, want %d", got, want)
	}
	day := now.Truncate(24 * time.Hour)
	rows, err := d.QueryUsage(t.Context(), store.UsageQuery{From: day.Add(-24 * time.Hour), To: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0].Requests; got != int64(len(rs)) {
		t.Errorf("requests from rollups after the purge = %d, want %d", got, len(rs))
	}
}

// TestBacklogRollerNothingToDo: on a new database the roller is ready
// at once.
func TestBacklogRollerNothingToDo(t *testing.T) {
	d := newSQLite(t)
	r := usage.NewBacklogRoller(d, testLogger(t))
	if ready, detail := r.Status(); ready {
		t.Errorf("Status before Run = ready (%q); want not yet", detail)
	}
	r.Run(t.Context())
	if ready, detail := r.Status(); !ready {
		t.Errorf("Status after Run = not ready (%q); want ready", detail)
	}
}
