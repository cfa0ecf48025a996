package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// BacklogSeeder is implemented, for tests only, by stores that can put
// records in the backlog of raw records written before rollups existed,
// as a database migrated from an older version holds them.
type BacklogSeeder interface {
	SeedUsageBacklog(t *testing.T, records []usage.Record)
}

// withTeams gives records teams (by key) and a few other endpoints, so
// every rollup dimension has more than one value.
func withTeams(records []usage.Record) []usage.Record {
	for i := range records {
		records[i].TeamID = map[string]string{"key-a": "team-1", "key-b": "team-1", "key-c": "team-2"}[records[i].KeyID]
		if i%7 == 0 {
			records[i].Endpoint = "embeddings"
		}
		records[i].CachedTokens = records[i].PromptTokens / 3
	}
	return records
}

// usageQueries are the queries checkUsage compares: every group, alone
// and under every filter, over ranges whole days long, whole hours long,
// cut mid-hour at either end, open at either end, and empty.
func usageQueries() []store.UsageQuery {
	ranges := [][2]time.Time{
		{},
		{usageDay, usageDay.Add(72 * time.Hour)},
		{usageDay.Add(5*time.Hour + 17*time.Minute + 3*time.Millisecond), usageDay.Add(53*time.Hour + 59*time.Minute)},
		{usageDay.Add(25*time.Hour + time.Minute), usageDay.Add(25*time.Hour + 2*time.Minute)},
		{usageDay.Add(30 * time.Hour), time.Time{}},
	}
	filters := []store.UsageQuery{
		{}, {KeyID: "key-b"}, {TeamID: "team-1"}, {EventID: "hack-1", Model: "gpt-4o"},
	}
	groups := []string{store.GroupByTotal, store.GroupByDay, store.GroupByHour, store.GroupByModel,
		store.GroupByDeployment, store.GroupByKey, store.GroupByTeam, store.GroupByEvent}
	var out []store.UsageQuery
	for _, r := range ranges {
		for _, f := range filters {
			for _, g := range groups {
				q := f
				q.From, q.To, q.GroupBy = r[0], r[1], g
				out = append(out, q)
			}
		}
	}
	return out
}

// usageLabel returns the label of a record's group for GroupBy g.
func usageLabel(g string) func(usage.Record) string {
	return map[string]func(usage.Record) string{
		store.GroupByTotal:      total,
		store.GroupByDay:        func(r usage.Record) string { return r.Time.UTC().Format(time.DateOnly) },
		store.GroupByHour:       func(r usage.Record) string { return r.Time.UTC().Format("2006-01-02T15") + ":00Z" },
		store.GroupByModel:      func(r usage.Record) string { return r.Model },
		store.GroupByDeployment: func(r usage.Record) string { return r.Deployment },
		store.GroupByKey:        func(r usage.Record) string { return r.KeyID },
		store.GroupByTeam:       func(r usage.Record) string { return r.TeamID },
		store.GroupByEvent:      func(r usage.Record) string { return r.EventID },
	}[g]
}

// checkUsage compares every usageQueries answer with the aggregate of
// records computed here, record by record.
func checkUsage(t *testing.T, st store.Store, records []usage.Record) {
	t.Helper()
	failed := 0
	for _, q := range usageQueries() {
		kept := slices.DeleteFunc(slices.Clone(records), func(r usage.Record) bool {
			return (!q.From.IsZero() && r.Time.Before(q.From)) || (!q.To.IsZero() && !r.Time.Before(q.To)) ||
				(q.KeyID != "" && r.KeyID != q.KeyID) || (q.TeamID != "" && r.TeamID != q.TeamID) ||
				(q.EventID != "" && r.EventID != q.EventID) || (q.Model != "" && r.Model != q.Model)
		})
		want := expectUsage(kept, usageLabel(q.GroupBy))
		if len(want) == 0 && q.GroupBy == store.GroupByTotal {
			want = []store.UsageRow{{}}
		}
		got := mustQueryUsage(t, st, q)
		if diff := gocmp.Diff(want, got, ignorePercentiles, costAbout, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", q, diff)
			if failed++; failed > 3 {
				t.Fatal("more differences left out")
			}
		}
		checkPercentiles(t, got, want)
	}
}

// usageRollupsExact: rollups equal the records after duplicate batches,
// a batch replayed late (a writer's spill after an outage), and records
// of a batch job that arrive hours after their time.
func (s suite) usageRollupsExact(t *testing.T) {
	st := s.store(t, nil)
	records := withTeams(usageRecords(3000, 21))
	slices.SortFunc(records, func(a, b usage.Record) int { return a.Time.Compare(b.Time) })
	// The writer sends batches in time order, but the batch spilled
	// during an outage (the second) comes back after the rest, and the
	// batch job's records (every tenth, flagged) after everything.
	var job, live []usage.Record
	for i, r := range records {
		if i%10 == 0 {
			r.BatchID = "batch_1"
			job = append(job, r)
			continue
		}
		live = append(live, r)
	}
	batches := slices.Collect(slices.Chunk(live, 400))
	spilled := batches[1]
	for i, b := range batches {
		if i == 1 {
			continue
		}
		mustInsertUsage(t, st, b)
		if i == 3 {
			mustInsertUsage(t, st, b) // a retry whose first answer was lost
		}
	}
	mustInsertUsage(t, st, spilled)
	mustInsertUsage(t, st, spilled) // the spill file replayed once more after a crash
	mustInsertUsage(t, st, job)
	checkUsage(t, st, append(live, job...))
}

// usageRollupsLongHistograms: latency histograms stay exact when a
// rollup row takes many batches, each adding a few buckets, so that on
// PostgreSQL its tail of unmerged histograms fills and is merged into
// latency_hist over and over: every answer, percentiles included, is the
// raw records' to the bucket.
func (s suite) usageRollupsLongHistograms(t *testing.T) {
	st := s.store(t, nil)
	records := withTeams(usageRecords(6000, 33))
	for i := range records {
		// All in two hours of one day, so every batch adds to the same rows.
		records[i].Time = usageDay.Add(10*time.Hour + time.Duration(i)*1200*time.Millisecond)
	}
	for b := range slices.Chunk(records, 40) {
		mustInsertUsage(t, st, b)
	}
	checkUsage(t, st, records)
	for _, q := range usageQueries() {
		want, err := store.ScanUsageRaw(t.Context(), st, q)
		if err != nil {
			t.Fatalf("ScanUsageRaw(%+v): %v", q, err)
		}
		got := mustQueryUsage(t, st, q)
		if diff := gocmp.Diff(want, got, costAbout, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%+v: rollups and raw records differ (-raw +rollups):\n%s", q, diff)
		}
	}
}

// usageRollupsSubtractOverflow: a range's partial first day is read as
// the day's rollups less its other hours, and a range ending at 20:50 as
// the hour 20:00 less the raw records after 20:50, but not when what
// would be subtracted holds a latency past the last bucket: the longest
// latency, which a percentile in the overflow bucket reports, cannot be
// subtracted.
func (s suite) usageRollupsSubtractOverflow(t *testing.T) {
	st := s.store(t, nil)
	records := usageRecords(400, 35)
	for i := range records {
		records[i].Time = usageDay.Add(time.Hour + time.Duration(i)*3*time.Minute) // 01:00 to 21:00
		records[i].Latency = 11*time.Minute + time.Duration(i)*time.Millisecond
		if i < 20 { // before 02:00, outside the range below
			records[i].Latency = 30 * time.Minute
		}
	}
	mustInsertUsage(t, st, records)
	for _, tc := range []struct {
		to      time.Duration
		longest time.Duration // in the range
	}{
		{54 * time.Hour, 11*time.Minute + 399*time.Millisecond},
		// The records at 20:51, 20:54 and 20:57 are in the hour, not the range.
		{20*time.Hour + 50*time.Minute, 11*time.Minute + 396*time.Millisecond},
	} {
		for _, g := range []string{store.GroupByTotal, store.GroupByKey, store.GroupByDay, store.GroupByHour} {
			q := store.UsageQuery{From: usageDay.Add(2 * time.Hour), To: usageDay.Add(tc.to), GroupBy: g}
			want, err := store.ScanUsageRaw(t.Context(), st, q)
			if err != nil {
				t.Fatal(err)
			}
			got := mustQueryUsage(t, st, q)
			if diff := gocmp.Diff(want, got, costAbout); diff != "" {
				t.Errorf("%+v: rollups and raw records differ (-raw +rollups):\n%s", q, diff)
			}
			for _, r := range got {
				if g == store.GroupByKey || g == store.GroupByHour {
					continue // each group's own longest, compared with the raw records above
				}
				if r.P95 != tc.longest {
					t.Errorf("%+v: group %q: P95 = %v, want %v (the longest latency in the range)", q, r.Group, r.P95, tc.longest)
				}
			}
		}
	}
}

// usageRollupsConcurrent: rollups stay exact when two handles (two
// replicas) write overlapping groups at once.
func (s suite) usageRollupsConcurrent(t *testing.T) {
	handles := []store.Store{s.store(t, nil), s.store(t, nil)}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []usage.Record
	)
	for w := range 4 {
		wg.Go(func() {
			records := withTeams(usageRecords(200, uint64(200+w)))
			for chunk := range slices.Chunk(records, 40) {
				if err := handles[w%2].InsertUsage(t.Context(), chunk); err != nil {
					t.Errorf("writer %d: InsertUsage: %v", w, err)
					return
				}
			}
			mu.Lock()
			all = append(all, records...)
			mu.Unlock()
		})
	}
	wg.Wait()
	checkUsage(t, handles[0], all)
}

// usageBacklog: records written before rollups existed are read raw
// until rolled up, then from rollups, never twice, with two replicas
// taking turns.
func (s suite) usageBacklog(t *testing.T) {
	st := s.store(t, nil)
	seeder, ok := st.(BacklogSeeder)
	if !ok {
		t.Skip("store cannot seed a backlog")
	}
	records := withTeams(usageRecords(2000, 31))
	old, recent := records[:1500], records[1500:]
	seeder.SeedUsageBacklog(t, old)
	mustInsertUsage(t, st, recent)
	if n, err := st.UsageBacklog(t.Context()); err != nil || n != int64(len(old)) {
		t.Fatalf("UsageBacklog = %d, %v; want %d", n, err, len(old))
	}
	checkUsage(t, st, records)

	// Two handles (two replicas) take turns, each going on from where
	// the other stopped. (Rolling up at the same time is safe on
	// PostgreSQL, where a chunk's DELETE … RETURNING locks its rows, but
	// on SQLite two processes hammering the one writer lock can outwait
	// busy_timeout, so the suite does not do it.)
	other := s.store(t, nil)
	handles := []store.Store{st, other}
	for i := 0; ; i++ {
		n, err := handles[i%2].RollUpUsageBacklog(t.Context())
		if err != nil {
			t.Fatalf("RollUpUsageBacklog: %v", err)
		}
		if n == 0 {
			break
		}
		if i > 1000 {
			t.Fatal("RollUpUsageBacklog never finished")
		}
	}
	if n, err := st.UsageBacklog(t.Context()); err != nil || n != 0 {
		t.Fatalf("UsageBacklog after rolling up = %d, %v; want 0", n, err)
	}
	checkUsage(t, st, records)
	checkUsage(t, other, records)
}

// usageRetention: purging raw records in small batches (whole day
// partitions on a partitioned store) leaves the rollups, so whole-hour
// queries keep their answers, and export then shows only the records
// kept.
func (s suite) usageRetention(t *testing.T) {
	st := s.store(t, nil)
	records := withTeams(usageRecords(1000, 41))
	mustInsertUsage(t, st, records)
	before := usageDay.Add(36 * time.Hour)
	parts := partitionsOf(t, st)
	// A partitioned store drops whole days and keeps the day of before.
	cut := retentionCut(parts, before)
	var purged int64
	for {
		n, err := st.PurgeUsage(t.Context(), before, 97)
		if err != nil {
			t.Fatalf("PurgeUsage: %v", err)
		}
		if n > 97 && parts == nil {
			t.Fatalf("PurgeUsage(limit 97) deleted %d", n)
		}
		if n == 0 {
			break
		}
		purged += n
	}
	kept := since(records, cut)
	if want := int64(len(records) - len(kept)); purged != want {
		t.Errorf("purged %d records, want %d", purged, want)
	}
	whole := store.UsageQuery{From: usageDay, To: usageDay.Add(72 * time.Hour), GroupBy: store.GroupByHour}
	if diff := gocmp.Diff(expectUsage(records, usageLabel(store.GroupByHour)), mustQueryUsage(t, st, whole), ignorePercentiles, costAbout); diff != "" {
		t.Errorf("hours after the purge (-want +got):\n%s", diff)
	}
	got := exportAll(t, st, usageDay, usageDay.Add(72*time.Hour))
	if len(got) != len(kept) {
		t.Fatalf("exported %d records after the purge, want %d", len(got), len(kept))
	}
	for _, r := range got {
		if r.Time.Before(cut) {
			t.Fatalf("exported a purged record of %v", r.Time)
		}
	}
}

// usageExport: export streams every field of the records of a range, in
// time order, and stops at fn's error.
func (s suite) usageExport(t *testing.T) {
	st := s.store(t, nil)
	records := withTeams(usageRecords(500, 51))
	for i := range records {
		records[i].ReasoningTokens = i % 5
		records[i].AudioSeconds = float64(i%3) / 2
		records[i].BatchID = fmt.Sprintf("batch_%d", i%2)
	}
	mustInsertUsage(t, st, records)
	from, to := usageDay.Add(10*time.Hour), usageDay.Add(40*time.Hour+30*time.Minute)
	var want []usage.Record
	for _, r := range records {
		if !r.Time.Before(from) && r.Time.Before(to) {
			r.Time = r.Time.UTC()
			r.Latency = r.Latency.Truncate(time.Microsecond)
			r.TTFB = r.TTFB.Truncate(time.Microsecond)
			want = append(want, r)
		}
	}
	slices.SortStableFunc(want, func(a, b usage.Record) int { return a.Time.Compare(b.Time) })
	got := exportAll(t, st, from, to)
	byTime := func(a, b usage.Record) bool {
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.RequestID < b.RequestID
	}
	if diff := gocmp.Diff(want, got, cmpopts.SortSlices(byTime), costAbout); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Fatalf("record %d at %v comes after one at %v", i, got[i].Time, got[i-1].Time)
		}
	}
	stop := fmt.Errorf("enough")
	n := 0
	err := st.ExportUsage(t.Context(), from, to, func(*usage.Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("export stopped at the third record: got %d records, err %v; want 3, %v", n, err, stop)
	}
}

// exportAll collects an export.
func exportAll(t *testing.T, st store.Store, from, to time.Time) []usage.Record {
	t.Helper()
	var out []usage.Record
	if err := st.ExportUsage(t.Context(), from, to, func(r *usage.Record) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatalf("ExportUsage: %v", err)
	}
	return out
}
