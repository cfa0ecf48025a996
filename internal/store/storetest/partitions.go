package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// Clocked is implemented, for tests only, by stores whose clock (which
// creates the partitions ahead of today) can be replaced.
type Clocked interface {
	SetNow(now func() time.Time)
}

// PartitionLister is implemented, for tests only, by stores that can list
// the time partitions of their raw usage records: [from, to) ranges in
// time order (from zero for a range open below), nil when the records
// are in one plain table.
type PartitionLister interface {
	UsagePartitions(ctx context.Context) ([][2]time.Time, error)
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// setClock gives st a test clock at now.
func setClock(t *testing.T, st store.Store, now time.Time) *testClock {
	t.Helper()
	c, ok := st.(Clocked)
	if !ok {
		t.Fatalf("%T does not implement storetest.Clocked; the suite needs it to move the clock", st)
	}
	clock := &testClock{now: now}
	c.SetNow(clock.Now)
	return clock
}

// partitionsOf returns st's partitions, nil for a plain table.
func partitionsOf(t *testing.T, st store.Store) [][2]time.Time {
	t.Helper()
	l, ok := st.(PartitionLister)
	if !ok {
		t.Fatalf("%T does not implement storetest.PartitionLister; the suite needs it to check partition rotation", st)
	}
	parts, err := l.UsagePartitions(t.Context())
	if err != nil {
		t.Fatalf("UsagePartitions: %v", err)
	}
	return parts
}

// retentionCut is the time before which PurgeUsage(before) leaves no raw
// record: before itself on a plain table (rows are deleted one by one),
// and the start of the day partition that holds before on a partitioned
// one, which is kept whole until its day is past. A partition longer than
// a day (an upgraded database's old table) has its rows deleted like a
// plain table's.
func retentionCut(parts [][2]time.Time, before time.Time) time.Time {
	for _, p := range parts {
		if !before.Before(p[0]) && before.Before(p[1]) && p[1].Sub(p[0]) == 24*time.Hour {
			return p[0]
		}
	}
	return before
}

// recordsIn returns n records of usageRecords(n, seed) moved into
// [from, from+span).
func recordsIn(n int, seed uint64, from time.Time, span time.Duration) []usage.Record {
	records := withTeams(usageRecords(n, seed))
	for i := range records {
		off := records[i].Time.Sub(usageDay)
		records[i].Time = from.Add(time.Duration(int64(off) / int64(72*time.Hour/span))).Truncate(time.Millisecond)
	}
	return records
}

// requestIDs returns the sorted request ids of records.
func requestIDs(records []usage.Record) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.RequestID
	}
	slices.Sort(out)
	return out
}

// since returns the records at or after t.
func since(records []usage.Record, t time.Time) []usage.Record {
	var out []usage.Record
	for _, r := range records {
		if !r.Time.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// everything is a range that holds every test record.
var everything = [2]time.Time{usageDay.Add(-400 * 24 * time.Hour), usageDay.Add(800 * 24 * time.Hour)}

// usagePartitionRotation moves the clock a day at a time for eight days,
// writing each day's records, a late one for the day before, and on day
// 5 one for a day still retained and one long past retention, then runs
// the retention purge of a 3-day retention. After each: the partitions
// of today and the days ahead exist, none that ended before the cut-off
// is left, every record within retention is kept and none before the
// cut is, and the rollups still count every record ever written.
func (s suite) usagePartitionRotation(t *testing.T) {
	st := s.store(t, nil)
	start := usageDay.Add(10 * time.Hour)
	clock := setClock(t, st, start)
	const retention = 3 * 24 * time.Hour
	purger := usage.NewPurger(st, 0, slog.New(slog.NewTextHandler(t.Output(), nil))).WithRecords(st, retention)
	var all []usage.Record
	for day := range 8 {
		today := usageDay.Add(time.Duration(day) * 24 * time.Hour)
		now := today.Add(10 * time.Hour)
		clock.Set(now)
		records := recordsIn(60, uint64(100+day), today, 10*time.Hour)
		if day > 0 {
			late := recordsIn(1, uint64(200+day), today.Add(-time.Hour), time.Hour)
			records = append(records, late...)
		}
		if day == 5 {
			// Day 3 is within retention; day 0 ended before it (and its
			// partition, on a partitioned store, is gone).
			records = append(records, recordsIn(1, 300, usageDay.Add(3*24*time.Hour+7*time.Hour), time.Hour)...)
			records = append(records, recordsIn(1, 301, usageDay.Add(2*time.Hour), time.Hour)...)
		}
		mustInsertUsage(t, st, records)
		all = append(all, records...)

		before := now.Add(-retention)
		cut := retentionCut(partitionsOf(t, st), before)
		if _, err := purger.PurgeRecordsOnce(t.Context(), now); err != nil {
			t.Fatalf("day %d: PurgeRecordsOnce: %v", day, err)
		}
		kept := exportAll(t, st, everything[0], everything[1])
		if diff := gocmp.Diff(requestIDs(since(all, cut)), requestIDs(kept)); diff != "" {
			t.Fatalf("day %d: raw records after the purge at %v (cut %v) (-want +got):\n%s", day, now, cut, diff)
		}
		if cut.After(before) {
			t.Fatalf("day %d: cut %v is after the retention cut-off %v: records within retention were purged", day, cut, before)
		}
		if parts := partitionsOf(t, st); parts != nil {
			checkPartitions(t, fmt.Sprintf("day %d", day), parts, now, before)
		}
		// Rollups keep every record ever written.
		q := store.UsageQuery{From: usageDay, To: usageDay.Add(10 * 24 * time.Hour), GroupBy: store.GroupByDay}
		if diff := gocmp.Diff(expectUsage(all, usageLabel(store.GroupByDay)), mustQueryUsage(t, st, q), ignorePercentiles, costAbout); diff != "" {
			t.Fatalf("day %d: days from rollups after the purge (-want +got):\n%s", day, diff)
		}
	}

	// Over the retained whole days, rollups and raw records agree, by
	// every grouping.
	now := clock.Now()
	from := retentionCut(partitionsOf(t, st), now.Add(-retention)).Truncate(24 * time.Hour).Add(24 * time.Hour)
	raw := since(exportAll(t, st, everything[0], everything[1]), from)
	if len(raw) == 0 {
		t.Fatal("no raw records retained")
	}
	for _, g := range []string{store.GroupByDay, store.GroupByHour, store.GroupByModel, store.GroupByKey, store.GroupByTeam} {
		q := store.UsageQuery{From: from, To: now.Add(24 * time.Hour).Truncate(24 * time.Hour), GroupBy: g}
		if diff := gocmp.Diff(expectUsage(raw, usageLabel(g)), mustQueryUsage(t, st, q), ignorePercentiles, costAbout); diff != "" {
			t.Errorf("group by %s over the retained days: rollups vs raw records (-raw +rollups):\n%s", g, diff)
		}
	}
}

// checkPartitions checks a partitioned store's partitions after a purge
// at now with cut-off before: today's and the next days' exist, no
// partition ends at or before the cut-off, and none overlap.
func checkPartitions(t *testing.T, when string, parts [][2]time.Time, now, before time.Time) {
	t.Helper()
	today := now.Truncate(24 * time.Hour)
	for d := range 4 {
		day := today.Add(time.Duration(d) * 24 * time.Hour)
		if !slices.ContainsFunc(parts, func(p [2]time.Time) bool { return !day.Before(p[0]) && !p[1].Before(day.Add(24*time.Hour)) }) {
			t.Errorf("%s: no partition for %s, %d days after today: partitions %v", when, day.Format(time.DateOnly), d, parts)
		}
	}
	for i, p := range parts {
		if !p[1].After(before) {
			t.Errorf("%s: partition [%v, %v) ended before the cut-off %v and was not dropped", when, p[0], p[1], before)
		}
		if i > 0 && p[0].Before(parts[i-1][1]) {
			t.Errorf("%s: partitions %v and %v overlap", when, parts[i-1], p)
		}
	}
}

// usagePartitionRace: two replicas insert records of the same new days
// at once, each creating the days' partitions, and then purge at once.
// No insert fails, no record is lost or written twice, and the purges
// together remove each expired record once.
func (s suite) usagePartitionRace(t *testing.T) {
	a, b := s.store(t, nil), s.store(t, nil)
	first := usageDay.Add(500 * 24 * time.Hour) // far ahead of any partition made ahead
	var all []usage.Record
	batches := make([][2][]usage.Record, 5)
	for d := range batches {
		day := first.Add(time.Duration(d) * 24 * time.Hour)
		for i := range 2 {
			batches[d][i] = recordsIn(40, uint64(400+10*d+i), day, 20*time.Hour)
			all = append(all, batches[d][i]...)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(batches))
	for d := range batches {
		for i, st := range []store.Store{a, b} {
			wg.Go(func() {
				if err := st.InsertUsage(t.Context(), batches[d][i]); err != nil {
					errs <- fmt.Errorf("replica %d, day %d: %w", i, d, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("InsertUsage: %v", err)
	}
	if diff := gocmp.Diff(requestIDs(all), requestIDs(exportAll(t, a, everything[0], everything[1]))); diff != "" {
		t.Fatalf("raw records after racing inserts (-want +got):\n%s", diff)
	}
	if parts := partitionsOf(t, a); parts != nil {
		for i := 1; i < len(parts); i++ {
			if parts[i][0].Before(parts[i-1][1]) {
				t.Errorf("partitions %v and %v overlap", parts[i-1], parts[i])
			}
		}
	}

	// Both purge the first two days at once.
	before := first.Add(48 * time.Hour)
	purged := make([]int64, 2)
	errs = make(chan error, 2)
	for i, st := range []store.Store{a, b} {
		wg.Go(func() {
			for {
				n, err := st.PurgeUsage(t.Context(), before, 50)
				if err != nil {
					errs <- fmt.Errorf("replica %d: %w", i, err)
					return
				}
				if n == 0 {
					return
				}
				purged[i] += n
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("PurgeUsage: %v", err)
	}
	if got, want := purged[0]+purged[1], int64(len(all)-len(since(all, before))); got != want {
		t.Errorf("replicas purged %d + %d = %d records, want %d", purged[0], purged[1], got, want)
	}
	if diff := gocmp.Diff(requestIDs(since(all, before)), requestIDs(exportAll(t, b, everything[0], everything[1]))); diff != "" {
		t.Errorf("raw records after racing purges (-want +got):\n%s", diff)
	}
	q := store.UsageQuery{From: first, To: first.Add(5 * 24 * time.Hour), GroupBy: store.GroupByDay}
	if diff := gocmp.Diff(expectUsage(all, usageLabel(store.GroupByDay)), mustQueryUsage(t, a, q), ignorePercentiles, costAbout); diff != "" {
		t.Errorf("days from rollups after racing purges (-want +got):\n%s", diff)
	}
}

// usagePartitionStale: one replica purges a day another has written to,
// then the other writes late records of that day. When the writer has
// run its own purge since (every replica's purger runs hourly, with the
// same retention), the write succeeds at once; when it has not, its
// knowledge of partitions may be stale and the write fails once and
// succeeds on the retry (as the usage writer retries). Either way the
// records are stored once and counted in the rollups.
func (s suite) usagePartitionStale(t *testing.T) {
	for _, ownPurge := range []bool{true, false} {
		t.Run(fmt.Sprintf("own purge %v", ownPurge), func(t *testing.T) {
			a, b := s.store(t, nil), s.store(t, nil)
			day := usageDay.Add(600 * 24 * time.Hour)
			first := recordsIn(20, 500, day, 10*time.Hour)
			mustInsertUsage(t, a, first)
			before := day.Add(25 * time.Hour)
			purgeAll(t, b, before)
			if ownPurge {
				purgeAll(t, a, before) // finds nothing left to drop
			}
			late := recordsIn(5, 501, day.Add(12*time.Hour), time.Hour)
			if err := a.InsertUsage(t.Context(), late); err != nil {
				if ownPurge {
					t.Fatalf("late insert after both replicas purged: %v", err)
				}
				t.Logf("late insert with stale partitions failed once: %v", err)
				if err := a.InsertUsage(t.Context(), late); err != nil {
					t.Fatalf("late insert failed again on retry: %v", err)
				}
			}
			if diff := gocmp.Diff(requestIDs(late), requestIDs(exportAll(t, a, day, day.Add(24*time.Hour)))); diff != "" {
				t.Errorf("raw records of the purged day after the late insert (-want +got):\n%s", diff)
			}
			q := store.UsageQuery{From: day, To: day.Add(24 * time.Hour), GroupBy: store.GroupByDay}
			all := append(slices.Clone(first), late...)
			if diff := gocmp.Diff(expectUsage(all, usageLabel(store.GroupByDay)), mustQueryUsage(t, b, q), ignorePercentiles, costAbout); diff != "" {
				t.Errorf("the purged day from rollups (-want +got):\n%s", diff)
			}
		})
	}
}

// purgeAll calls PurgeUsage until it returns 0.
func purgeAll(t *testing.T, st store.Store, before time.Time) {
	t.Helper()
	for {
		n, err := st.PurgeUsage(t.Context(), before, 1000)
		if err != nil {
			t.Fatalf("PurgeUsage: %v", err)
		}
		if n == 0 {
			return
		}
	}
}
