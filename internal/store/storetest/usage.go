package storetest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// usageDay is a fixed UTC midnight; test records fall in the days after.
var usageDay = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// ignorePercentiles leaves P50 and P95 to checkPercentiles, which allows
// for the buckets; costAbout allows for the order a database adds floats.
var (
	ignorePercentiles = cmpopts.IgnoreFields(store.UsageRow{}, "P50", "P95")
	costAbout         = cmpopts.EquateApprox(0, 1e-9)
)

// usageRecords returns n records spread over three days, three models,
// three deployments (one "" for requests none answered), three keys and
// two events (and none), two teams (and none), with 10% errors and latencies from 1 ms to 30 s.
// The same seed gives the same records.
func usageRecords(n int, seed uint64) []usage.Record {
	rnd := rand.New(rand.NewPCG(seed, 0))
	models := []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}
	deployments := []string{"eastus", "westus", ""}
	keys := []string{"key-a", "key-b", "key-c"}
	events := []string{"hack-1", "hack-2", ""}
	teams := []string{"team-x", "team-y", ""}
	out := make([]usage.Record, n)
	for i := range out {
		status := 200
		if rnd.IntN(10) == 0 {
			status = []int{400, 429, 499, 500, 503}[rnd.IntN(5)]
		}
		prompt, completion := rnd.IntN(2000), rnd.IntN(500)
		// Log-uniform latency, 1 ms to 30 s, at microsecond precision.
		latency := time.Duration(math.Exp(rnd.Float64()*math.Log(30_000_000))) * time.Microsecond
		out[i] = usage.Record{
			Time:             usageDay.Add(time.Duration(rnd.Int64N(int64(72 * time.Hour)))).Truncate(time.Millisecond),
			RequestID:        fmt.Sprintf("req-%d-%06d", seed, i),
			KeyID:            keys[rnd.IntN(len(keys))],
			EventID:          events[rnd.IntN(len(events))],
			Attendee:         "attendee@example.com",
			Model:            models[rnd.IntN(len(models))],
			Deployment:       deployments[rnd.IntN(len(deployments))],
			Endpoint:         "chat",
			Status:           status,
			Attempts:         1 + rnd.IntN(3),
			Stream:           rnd.IntN(2) == 0,
			Latency:          latency,
			TTFB:             latency / 3,
			PromptTokens:     prompt,
			CompletionTokens: completion,
			TotalTokens:      prompt + completion,
			Estimated:        rnd.IntN(5) == 0,
			Cost:             float64(prompt)*2.5e-6 + float64(completion)*1e-5,
			User:             "user-1",
			TeamID:           teams[rnd.IntN(len(teams))],
		}
	}
	return out
}

// expectUsage aggregates records the way QueryUsage should, label giving
// each record's group; the percentiles are the exact nearest-rank values,
// which checkPercentiles compares with the bucketed ones.
func expectUsage(records []usage.Record, label func(usage.Record) string) []store.UsageRow {
	byGroup := map[string]*store.UsageRow{}
	latencies := map[string][]time.Duration{}
	for _, r := range records {
		g := label(r)
		row := byGroup[g]
		if row == nil {
			row = &store.UsageRow{Group: g}
			byGroup[g] = row
		}
		row.Requests++
		if r.Status >= 400 {
			row.Errors++
		}
		row.PromptTokens += int64(r.PromptTokens)
		row.CompletionTokens += int64(r.CompletionTokens)
		row.TotalTokens += int64(r.TotalTokens)
		row.Cost += r.Cost
		latencies[g] = append(latencies[g], r.Latency)
	}
	out := make([]store.UsageRow, 0, len(byGroup))
	for g, row := range byGroup {
		row.P50, row.P95 = exactPercentile(latencies[g], 500), exactPercentile(latencies[g], 950)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b store.UsageRow) int { return cmp.Compare(a.Group, b.Group) })
	return out
}

// exactPercentile is the nearest-rank percentile perMille/1000 of ds.
func exactPercentile(ds []time.Duration, perMille int) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	rank := max((len(ds)*perMille+999)/1000, 1)
	return ds[rank-1]
}

// bucketAccurate reports whether got is what a latency bucket may report
// for the exact percentile: 1 ms up to 1 ms, the longest latency past the
// last bucket, else at least exact and at most 5% (plus rounding) above.
func bucketAccurate(got, exact time.Duration) bool {
	switch {
	case exact <= time.Millisecond:
		return got == time.Millisecond
	case exact > 10*time.Minute:
		return got >= exact
	}
	return got >= exact && got <= exact*105/100+time.Microsecond
}

// checkPercentiles compares got's percentiles with want's exact ones.
func checkPercentiles(t *testing.T, got, want []store.UsageRow) {
	t.Helper()
	if len(got) != len(want) {
		return // the row comparison has reported it
	}
	for i := range got {
		if want[i].Requests == 0 {
			if got[i].P50 != 0 || got[i].P95 != 0 {
				t.Errorf("group %q of no requests: P50, P95 = %v, %v; want 0, 0", got[i].Group, got[i].P50, got[i].P95)
			}
			continue
		}
		for _, p := range []struct {
			name      string
			got, want time.Duration
		}{{"P50", got[i].P50, want[i].P50}, {"P95", got[i].P95, want[i].P95}} {
			if !bucketAccurate(p.got, p.want) {
				t.Errorf("group %q: %s = %v, want the bucket bound of the exact %v (at most 5%% above)", got[i].Group, p.name, p.got, p.want)
			}
		}
	}
}

// mustInsertUsage inserts records or fails the test.
func mustInsertUsage(t *testing.T, st store.Store, records []usage.Record) {
	t.Helper()
	if err := st.InsertUsage(t.Context(), records); err != nil {
		t.Fatalf("InsertUsage(%d records): %v", len(records), err)
	}
}

// mustQueryUsage runs q or fails the test.
func mustQueryUsage(t *testing.T, st store.Store, q store.UsageQuery) []store.UsageRow {
	t.Helper()
	rows, err := st.QueryUsage(t.Context(), q)
	if err != nil {
		t.Fatalf("QueryUsage(%+v): %v", q, err)
	}
	return rows
}

// total labels every record as the one total group.
func total(usage.Record) string { return "" }

func (s suite) usageInsertBatches(t *testing.T) {
	st := s.store(t, nil)
	all := usageRecords(2511, 1)
	// One record, a small batch, and one of several statements (more than
	// the 1,000 rows one INSERT takes), each in its own transaction.
	for _, batch := range [][]usage.Record{all[:1], all[1:11], all[11:]} {
		mustInsertUsage(t, st, batch)
	}
	mustInsertUsage(t, st, nil)

	got := mustQueryUsage(t, st, store.UsageQuery{})
	want := expectUsage(all, total)
	if diff := gocmp.Diff(want, got, ignorePercentiles, costAbout); diff != "" {
		t.Errorf("total after three batches (-want +got):\n%s", diff)
	}
	checkPercentiles(t, got, want)
}

func (s suite) usageGroupBy(t *testing.T) {
	st := s.store(t, nil)
	records := usageRecords(3000, 2)
	mustInsertUsage(t, st, records)
	for _, tc := range []struct {
		groupBy string
		label   func(usage.Record) string
	}{
		{store.GroupByTotal, total},
		{store.GroupByDay, func(r usage.Record) string { return r.Time.UTC().Format("2006-01-02") }},
		{store.GroupByHour, func(r usage.Record) string { return r.Time.UTC().Format("2006-01-02T15") + ":00Z" }},
		{store.GroupByModel, func(r usage.Record) string { return r.Model }},
		{store.GroupByDeployment, func(r usage.Record) string { return r.Deployment }},
		{store.GroupByKey, func(r usage.Record) string { return r.KeyID }},
		{store.GroupByEvent, func(r usage.Record) string { return r.EventID }},
		{store.GroupByTeam, func(r usage.Record) string { return r.TeamID }},
	} {
		t.Run("by_"+tc.groupBy, func(t *testing.T) {
			got := mustQueryUsage(t, st, store.UsageQuery{GroupBy: tc.groupBy})
			want := expectUsage(records, tc.label)
			if diff := gocmp.Diff(want, got, ignorePercentiles, costAbout); diff != "" {
				t.Errorf("group by %q (-want +got):\n%s", tc.groupBy, diff)
			}
			checkPercentiles(t, got, want)
		})
	}
	if _, err := st.QueryUsage(t.Context(), store.UsageQuery{GroupBy: "week"}); err == nil {
		t.Error(`QueryUsage with GroupBy "week": got nil error`)
	}
}

func (s suite) usageFilters(t *testing.T) {
	st := s.store(t, nil)
	records := usageRecords(2000, 3)
	mustInsertUsage(t, st, records)
	from, to := usageDay.Add(13*time.Hour), usageDay.Add(50*time.Hour)
	for _, tc := range []struct {
		name string
		q    store.UsageQuery
		keep func(usage.Record) bool
	}{
		{"key", store.UsageQuery{KeyID: "key-b"}, func(r usage.Record) bool { return r.KeyID == "key-b" }},
		{"event", store.UsageQuery{EventID: "hack-1"}, func(r usage.Record) bool { return r.EventID == "hack-1" }},
		{"team", store.UsageQuery{TeamID: "team-y"}, func(r usage.Record) bool { return r.TeamID == "team-y" }},
		{"model", store.UsageQuery{Model: "gpt-4o-mini"}, func(r usage.Record) bool { return r.Model == "gpt-4o-mini" }},
		{"unknown key", store.UsageQuery{KeyID: "nobody"}, func(usage.Record) bool { return false }},
		{"range", store.UsageQuery{From: from, To: to}, func(r usage.Record) bool { return !r.Time.Before(from) && r.Time.Before(to) }},
		{"from only", store.UsageQuery{From: to}, func(r usage.Record) bool { return !r.Time.Before(to) }},
		{"to only", store.UsageQuery{To: from}, func(r usage.Record) bool { return r.Time.Before(from) }},
		{"all together", store.UsageQuery{From: from, To: to, KeyID: "key-a", EventID: "hack-2", Model: "gpt-4o"}, func(r usage.Record) bool {
			return !r.Time.Before(from) && r.Time.Before(to) && r.KeyID == "key-a" && r.EventID == "hack-2" && r.Model == "gpt-4o"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, groupBy := range []string{store.GroupByTotal, store.GroupByDay} {
				q := tc.q
				q.GroupBy = groupBy
				got := mustQueryUsage(t, st, q)
				kept := slices.DeleteFunc(slices.Clone(records), func(r usage.Record) bool { return !tc.keep(r) })
				label := total
				if groupBy == store.GroupByDay {
					label = func(r usage.Record) string { return r.Time.UTC().Format("2006-01-02") }
				}
				want := expectUsage(kept, label)
				if len(want) == 0 && groupBy == store.GroupByTotal {
					want = []store.UsageRow{{}}
				}
				if diff := gocmp.Diff(want, got, ignorePercentiles, costAbout, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%+v (-want +got):\n%s", q, diff)
				}
				checkPercentiles(t, got, want)
			}
		})
	}
}

// usageBoundaries checks that From is inclusive, To exclusive, and that
// days and hours split at UTC midnight and on the hour.
func (s suite) usageBoundaries(t *testing.T) {
	st := s.store(t, nil)
	at := func(d time.Duration) usage.Record {
		return usage.Record{Time: usageDay.Add(d), Model: "m", Status: 200, Latency: 10 * time.Millisecond}
	}
	mustInsertUsage(t, st, []usage.Record{
		at(-time.Millisecond), // 2026-11-19T23:59:59.999Z
		at(0),                 // 2026-11-20T00:00:00.000Z
		at(time.Hour - time.Millisecond),
		at(time.Hour),
		at(24 * time.Hour),
	})
	groups := func(q store.UsageQuery) map[string]int64 {
		out := map[string]int64{}
		for _, r := range mustQueryUsage(t, st, q) {
			out[r.Group] = r.Requests
		}
		return out
	}
	for _, tc := range []struct {
		q    store.UsageQuery
		want map[string]int64
	}{
		{store.UsageQuery{GroupBy: store.GroupByDay}, map[string]int64{"2026-11-19": 1, "2026-11-20": 3, "2026-11-21": 1}},
		{store.UsageQuery{GroupBy: store.GroupByHour}, map[string]int64{
			"2026-11-19T23:00Z": 1, "2026-11-20T00:00Z": 2, "2026-11-20T01:00Z": 1, "2026-11-21T00:00Z": 1,
		}},
		{store.UsageQuery{GroupBy: store.GroupByDay, From: usageDay, To: usageDay.Add(24 * time.Hour)}, map[string]int64{"2026-11-20": 3}},
		{store.UsageQuery{GroupBy: store.GroupByDay, From: usageDay.Add(time.Millisecond), To: usageDay.Add(time.Hour)}, map[string]int64{"2026-11-20": 1}},
	} {
		if diff := gocmp.Diff(tc.want, groups(tc.q)); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.q, diff)
		}
	}
}

// usagePercentiles checks the percentiles on distributions whose answer
// is known, to the bucket.
func (s suite) usagePercentiles(t *testing.T) {
	st := s.store(t, nil)
	bound := func(d time.Duration) time.Duration {
		b, ok := store.LatencyBucketBound(store.LatencyBucket(d))
		if !ok {
			t.Fatalf("no bucket bound for %v", d)
		}
		return b
	}
	type dist struct {
		model    string
		latency  func(i int) time.Duration // i in 0..99
		p50, p95 time.Duration
	}
	for _, d := range []dist{
		// 1 ms .. 100 ms: the 50th value is 50 ms, the 95th 95 ms.
		{"uniform", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, bound(50 * time.Millisecond), bound(95 * time.Millisecond)},
		// 90 fast, 10 slow: the median is fast, the 95th is slow.
		{"bimodal", func(i int) time.Duration {
			if i < 90 {
				return 12 * time.Millisecond
			}
			return 2 * time.Second
		}, bound(12 * time.Millisecond), bound(2 * time.Second)},
		// Below 1 ms all land in the first bucket.
		{"sub-millisecond", func(i int) time.Duration { return time.Duration(i) * time.Microsecond }, time.Millisecond, time.Millisecond},
		// Past 10 min the longest latency is reported.
		{"overflow", func(i int) time.Duration { return 11*time.Minute + time.Duration(i)*time.Second }, 11*time.Minute + 99*time.Second, 11*time.Minute + 99*time.Second},
	} {
		records := make([]usage.Record, 100)
		for i := range records {
			records[i] = usage.Record{Time: usageDay, Model: d.model, Status: 200, Latency: d.latency(i)}
		}
		// Shuffled so nothing depends on the order of insertion.
		rand.New(rand.NewPCG(4, 0)).Shuffle(len(records), func(i, j int) { records[i], records[j] = records[j], records[i] })
		mustInsertUsage(t, st, records)
		rows := mustQueryUsage(t, st, store.UsageQuery{Model: d.model})
		if len(rows) != 1 {
			t.Fatalf("%s: %d rows, want 1", d.model, len(rows))
		}
		if got := rows[0]; got.P50 != d.p50 || got.P95 != d.p95 {
			t.Errorf("%s: P50, P95 = %v, %v; want %v, %v", d.model, got.P50, got.P95, d.p50, d.p95)
		}
	}
	// The bounds themselves: within 5% above the exact values.
	for _, d := range []time.Duration{50 * time.Millisecond, 95 * time.Millisecond, 12 * time.Millisecond, 2 * time.Second} {
		if b := bound(d); !bucketAccurate(b, d) {
			t.Errorf("bucket bound of %v = %v, want at most 5%% above", d, b)
		}
	}
}

func (s suite) usageEmpty(t *testing.T) {
	st := s.store(t, nil)
	for _, groupBy := range []string{store.GroupByDay, store.GroupByModel, store.GroupByEvent} {
		if got := mustQueryUsage(t, st, store.UsageQuery{GroupBy: groupBy}); len(got) != 0 {
			t.Errorf("group by %q on an empty table: %v, want no rows", groupBy, got)
		}
	}
	if diff := gocmp.Diff([]store.UsageRow{{}}, mustQueryUsage(t, st, store.UsageQuery{})); diff != "" {
		t.Errorf("total of an empty table (-want +got):\n%s", diff)
	}

	mustInsertUsage(t, st, usageRecords(50, 5))
	empty := store.UsageQuery{From: usageDay.Add(-48 * time.Hour), To: usageDay, GroupBy: store.GroupByDay}
	if got := mustQueryUsage(t, st, empty); len(got) != 0 {
		t.Errorf("a range before every record: %v, want no rows", got)
	}
	backwards := store.UsageQuery{From: usageDay.Add(48 * time.Hour), To: usageDay}
	if diff := gocmp.Diff([]store.UsageRow{{}}, mustQueryUsage(t, st, backwards)); diff != "" {
		t.Errorf("total of a range that ends before it starts (-want +got):\n%s", diff)
	}
}

// usageUnstorable checks that content PostgreSQL would reject in TEXT,
// and a cost SQLite cannot store, never fail a batch.
func (s suite) usageUnstorable(t *testing.T) {
	st := s.store(t, nil)
	mustInsertUsage(t, st, []usage.Record{
		{Time: usageDay, Model: "nul\x00model", User: "bad\xffutf8", Status: 200, Cost: 1},
		{Time: usageDay, Model: "m", Status: 200, Cost: math.NaN()},
		{Time: usageDay, Model: "m", Status: 200, Cost: math.Inf(1)},
	})
	got := mustQueryUsage(t, st, store.UsageQuery{GroupBy: store.GroupByModel})
	want := []store.UsageRow{
		{Group: "m", Requests: 2},
		{Group: "nulmodel", Requests: 1, Cost: 1},
	}
	if diff := gocmp.Diff(want, got, ignorePercentiles); diff != "" {
		t.Errorf("group by model (-want +got):\n%s", diff)
	}
}

// usageRetry repeats a batch, as a writer does when a commit's answer is
// lost: the records are stored once. A batch that differs in any field is
// a batch of its own.
func (s suite) usageRetry(t *testing.T) {
	st := s.store(t, nil)
	batch := usageRecords(30, 6)
	mustInsertUsage(t, st, batch)
	mustInsertUsage(t, st, slices.Clone(batch))
	changed := slices.Clone(batch)
	changed[29].Latency++
	mustInsertUsage(t, st, changed)
	mustInsertUsage(t, st, batch[:29]) // a part is not the whole
	got := mustQueryUsage(t, st, store.UsageQuery{})
	if want := int64(30 + 30 + 29); got[0].Requests != want {
		t.Errorf("requests after a repeated batch, a changed one and a part = %d, want %d", got[0].Requests, want)
	}
}

// usageConcurrent inserts from many goroutines through two handles, as
// the writers of two replicas would.
func (s suite) usageConcurrent(t *testing.T) {
	const writers, batches, batch = 8, 5, 40
	handles := []store.Store{s.store(t, nil), s.store(t, nil)}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			records := usageRecords(batches*batch, uint64(100+w))
			for chunk := range slices.Chunk(records, batch) {
				// Two SQLite handles are two processes on one file: a
				// writer can wait past busy_timeout on a loaded machine
				// and get "database is locked", as the usage writer does,
				// which retries the same batch. So does this one; the
				// totals below prove a retried batch is stored once.
				err := handles[w%2].InsertUsage(t.Context(), chunk)
				for try := 0; err != nil && isLocked(err) && try < 5; try++ {
					err = handles[w%2].InsertUsage(t.Context(), chunk)
				}
				if err != nil {
					t.Errorf("writer %d: InsertUsage: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := mustQueryUsage(t, handles[1], store.UsageQuery{})
	if want := int64(writers * batches * batch); len(got) != 1 || got[0].Requests != want {
		t.Errorf("total after concurrent inserts: %+v, want %d requests", got, want)
	}
}

// isLocked reports whether err is SQLite's "database is locked" (busy):
// another connection held the write lock past busy_timeout.
func isLocked(err error) bool {
	return strings.Contains(err.Error(), "database is locked") || strings.Contains(err.Error(), "SQLITE_BUSY")
}
