package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// WeeksReader is implemented, for tests only, by stores that can say
// which weeks a query reads from weekly rollups.
type WeeksReader interface {
	UsageWeeksRead(t *testing.T, q store.UsageQuery) []time.Time
}

// weeksStart is a Monday; weekly test records fall in its three weeks
// and two days of the next, which is not over at weeksNow.
var (
	weeksStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	weeksNow   = weeksStart.Add(23*24*time.Hour + 12*time.Hour)
)

// weekRecords returns n records spread over weeksStart's 23 days.
func weekRecords(n int, seed uint64) []usage.Record {
	records := withTeams(usageRecords(n, seed))
	step := 23 * 24 * time.Hour / time.Duration(n)
	for i := range records {
		records[i].Time = weeksStart.Add(time.Duration(i)*step + time.Duration(i%997)*time.Millisecond)
	}
	return records
}

// checkWeeks compares the answers of queries over the weeks with the raw
// records' (ScanUsageRaw, percentiles included) and with records, and,
// where st says, checks that "by key" read the weeks want.
func checkWeeks(t *testing.T, st store.Store, records []usage.Record, want []time.Time) {
	t.Helper()
	month := store.UsageQuery{From: weeksStart.Add(-24*time.Hour + 37*time.Minute), To: weeksNow.Add(-12*time.Hour + 37*time.Minute)}
	var queries []store.UsageQuery
	for _, r := range [][2]time.Time{
		{month.From, month.To},
		{weeksStart, weeksStart.Add(21 * 24 * time.Hour)},
		{weeksStart.Add(3*24*time.Hour + 5*time.Hour), month.To}, // from mid-week
	} {
		for _, f := range []store.UsageQuery{{}, {KeyID: "key-b"}, {EventID: "hack-1"}, {TeamID: "team-1"}} {
			for _, g := range []string{store.GroupByKey, store.GroupByEvent, store.GroupByTotal, store.GroupByTeam, store.GroupByDay} {
				q := f
				q.From, q.To, q.GroupBy = r[0], r[1], g
				queries = append(queries, q)
			}
		}
	}
	for _, q := range queries {
		raw, err := store.ScanUsageRaw(t.Context(), st, q)
		if err != nil {
			t.Fatalf("ScanUsageRaw(%+v): %v", q, err)
		}
		got := mustQueryUsage(t, st, q)
		if diff := gocmp.Diff(raw, got, costAbout, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%+v: rollups and raw records differ (-raw +rollups):\n%s", q, diff)
		}
		kept := slices.DeleteFunc(slices.Clone(records), func(r usage.Record) bool {
			return r.Time.Before(q.From) || !r.Time.Before(q.To) || (q.KeyID != "" && r.KeyID != q.KeyID) ||
				(q.TeamID != "" && r.TeamID != q.TeamID) || (q.EventID != "" && r.EventID != q.EventID)
		})
		exp := expectUsage(kept, usageLabel(q.GroupBy))
		if len(exp) == 0 && q.GroupBy == store.GroupByTotal {
			exp = []store.UsageRow{{}}
		}
		if diff := gocmp.Diff(exp, got, ignorePercentiles, costAbout, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%+v (-want +got):\n%s", q, diff)
		}
	}
	if wr, ok := st.(WeeksReader); ok {
		month.GroupBy = store.GroupByKey
		if got := wr.UsageWeeksRead(t, month); !slices.Equal(got, want) {
			t.Errorf("by key over %v to %v read weeks %v, want %v", month.From, month.To, got, want)
		}
	}
}

// mustCompactWeeks runs CompactUsageWeeks at weeksNow and checks what it
// built and left.
func mustCompactWeeks(t *testing.T, st store.Store, limit, wantBuilt, wantLeft int) {
	t.Helper()
	built, left, err := st.CompactUsageWeeks(t.Context(), weeksNow, limit)
	if err != nil {
		t.Fatalf("CompactUsageWeeks: %v", err)
	}
	if built != wantBuilt || left != wantLeft {
		t.Errorf("CompactUsageWeeks(limit %d) built %d, left %d; want %d, %d", limit, built, left, wantBuilt, wantLeft)
	}
}

// usageWeeks: compaction builds the closed weeks' rows a few at a time,
// reads over them answer as the raw records do, a late record into a
// compacted week keeps answers exact (the week reads its days) until
// the next compaction rebuilds it.
func (s suite) usageWeeks(t *testing.T) {
	st := s.store(t, nil)
	records := weekRecords(3000, 51)
	for b := range slices.Chunk(records, 500) {
		mustInsertUsage(t, st, b)
	}
	weeks := []time.Time{weeksStart, weeksStart.AddDate(0, 0, 7), weeksStart.AddDate(0, 0, 14)}
	checkWeeks(t, st, records, nil)
	mustCompactWeeks(t, st, 2, 2, 1) // newest first
	checkWeeks(t, st, records, weeks[1:])
	mustCompactWeeks(t, st, 10, 1, 0)
	mustCompactWeeks(t, st, 10, 0, 0)
	checkWeeks(t, st, records, weeks)

	late := usageRecords(2, 52)
	for i := range late {
		late[i].Time = weeks[1].Add(50*time.Hour + time.Duration(i)*time.Minute)
		late[i].KeyID, late[i].TeamID = "key-b", "team-1"
	}
	mustInsertUsage(t, st, late)
	records = append(records, late...)
	checkWeeks(t, st, records, []time.Time{weeks[0], weeks[2]})
	mustCompactWeeks(t, st, 10, 1, 0)
	checkWeeks(t, st, records, weeks)
}

// usageWeeksConcurrent: two handles (two replicas) compacting the same
// weeks at once while late records arrive leave exact answers, and a
// last compaction makes every week's rows fresh.
func (s suite) usageWeeksConcurrent(t *testing.T) {
	handles := []store.Store{s.store(t, nil), s.store(t, nil)}
	records := weekRecords(2000, 53)
	for b := range slices.Chunk(records, 500) {
		mustInsertUsage(t, handles[0], b)
	}
	late := weekRecords(300, 54)
	for i := range late {
		late[i].Time = late[i].Time.Add(7 * time.Minute)
	}
	var wg sync.WaitGroup
	for i, st := range handles {
		wg.Go(func() {
			for range 3 {
				if _, _, err := st.CompactUsageWeeks(t.Context(), weeksNow, 10); err != nil {
					t.Errorf("handle %d: CompactUsageWeeks: %v", i, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for b := range slices.Chunk(late, 30) {
			if err := handles[1].InsertUsage(t.Context(), b); err != nil {
				t.Errorf("InsertUsage: %v", err)
				return
			}
		}
	})
	wg.Wait()
	records = append(records, late...)
	if t.Failed() {
		return
	}
	if _, left, err := handles[0].CompactUsageWeeks(t.Context(), weeksNow, 10); err != nil || left != 0 {
		t.Fatalf("CompactUsageWeeks: left %d, %v", left, err)
	}
	checkWeeks(t, handles[1], records, []time.Time{weeksStart, weeksStart.AddDate(0, 0, 7), weeksStart.AddDate(0, 0, 14)})
}
