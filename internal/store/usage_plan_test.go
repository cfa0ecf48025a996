package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

func TestSQLiteUsagePlan(t *testing.T) {
	testUsagePlan(t, openClosed(t, newSQLite(t), nil))
}

func TestPostgresUsagePlan(t *testing.T) {
	postgresURL(t)
	testUsagePlan(t, openClosed(t, newPostgres(t), nil))
}

// testUsagePlan checks that a dashboard's query over a few days of a
// year of records reads the time index (or a filter's index), not the
// whole table.
func testUsagePlan(t *testing.T, st store.Store) {
	const n = 20_000
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	records := make([]usage.Record, n)
	for i := range records {
		records[i] = usage.Record{
			Time:    start.Add(time.Duration(i) * (365 * 24 * time.Hour / n)),
			KeyID:   fmt.Sprintf("key-%d", i%50),
			Model:   fmt.Sprintf("model-%d", i%5),
			Status:  200,
			Latency: time.Duration(i%1000) * time.Millisecond,
		}
	}
	for chunk := range slices.Chunk(records, 5000) {
		if err := st.InsertUsage(t.Context(), chunk); err != nil {
			t.Fatal(err)
		}
	}
	week := store.UsageQuery{From: start.Add(100 * 24 * time.Hour), To: start.Add(107 * 24 * time.Hour)}
	for _, tc := range []struct {
		name    string
		q       store.UsageQuery
		indexes []string // any of these will do
	}{
		{"by day", store.UsageQuery{GroupBy: store.GroupByDay}, []string{"usage_time"}},
		{"by model", store.UsageQuery{GroupBy: store.GroupByModel}, []string{"usage_time"}},
		{"total", store.UsageQuery{}, []string{"usage_time"}},
		// PostgreSQL may prefer the time index and filter the few rows.
		{"one key", store.UsageQuery{GroupBy: store.GroupByDay, KeyID: "key-7"}, []string{"usage_key_time", "usage_time"}},
	} {
		q := tc.q
		q.From, q.To = week.From, week.To
		plan, err := store.ExplainUsage(t.Context(), st, q)
		if err != nil {
			t.Fatalf("%s: explain: %v", tc.name, err)
		}
		// No index name is part of another's.
		uses := slices.ContainsFunc(tc.indexes, func(index string) bool { return strings.Contains(plan, index) })
		if pruned, ok := prunedToRange(plan, q.From, q.To); ok {
			// PostgreSQL's daily partitions: the plan reads only the
			// range's days, whole (a few rows each here) or by index.
			if !pruned {
				t.Errorf("%s: the plan reads partitions outside %v-%v:\n%s", tc.name, q.From, q.To, plan)
			}
			continue
		}
		if !uses || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the plan does not read index %s:\n%s", tc.name, strings.Join(tc.indexes, " or "), plan)
		}
	}
}

// prunedToRange reads the daily partitions (usage_YYYYMMDD) a plan scans:
// ok is false when it scans none (SQLite, a plain table); pruned reports
// whether every one is a day of [from, to).
func prunedToRange(plan string, from, to time.Time) (pruned, ok bool) {
	pruned = true
	for _, f := range strings.Fields(plan) {
		day, found := strings.CutPrefix(f, "usage_")
		if !found || len(day) != 8 {
			continue
		}
		d, err := time.Parse("20060102", day)
		if err != nil {
			continue
		}
		ok = true
		if d.Before(from.Truncate(24*time.Hour)) || !d.Before(to) {
			pruned = false
		}
	}
	return pruned, ok
}
