package store_test

import (
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestUsageBatchRetention: a repeated batch is recognised for a week;
// after that its hash is pruned, and the same records are new again.
func TestUsageBatchRetention(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	st, err := store.Open(t.Context(), newSQLite(t), store.Options{Logger: testLogger(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	batch := []usage.Record{{Time: now, RequestID: "r1", Status: 200}}
	other := []usage.Record{{Time: now, RequestID: "r2", Status: 200}}
	requests := func() int64 {
		t.Helper()
		rows, err := st.QueryUsage(t.Context(), store.UsageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return rows[0].Requests
	}
	insert := func(rs []usage.Record) {
		t.Helper()
		if err := st.InsertUsage(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
	}

	insert(batch)
	now = now.Add(6 * 24 * time.Hour)
	insert(batch)
	if got := requests(); got != 1 {
		t.Fatalf("after a retry within the week: %d requests, want 1", got)
	}
	now = now.Add(2 * 24 * time.Hour)
	insert(other) // prunes the first batch's hash, 8 days old
	insert(batch)
	if got := requests(); got != 3 {
		t.Errorf("after the week: %d requests, want 3", got)
	}
}
