package store

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// rollUpEachRecord is rollUp as it was written first: every record looks
// up each of its rows by its key. rollUp must give exactly its rows.
func rollUpEachRecord(records []usage.Record) []rollupRow {
	groups := make(map[rollupKey]*rollupSums, len(records))
	for i := range records {
		r := &records[i]
		bucket := LatencyBucket(r.Latency)
		ms := r.Time.UnixMilli()
		for _, sp := range rollupSpans {
			for _, cube := range sp.cubes {
				k := rollupKeyOf(r, sp.ms, floorDiv(ms, sp.ms)*sp.ms, cube)
				g := groups[k]
				if g == nil {
					g = &rollupSums{}
					groups[k] = g
				}
				g.add(r, bucket)
			}
		}
	}
	rows := make([]rollupRow, 0, len(groups))
	for k, s := range groups {
		rows = append(rows, rollupRow{k, s})
	}
	slices.SortFunc(rows, func(a, b rollupRow) int { return compareRollupKeys(a.k, b.k) })
	return rows
}

// rollupRecords are n records of a gateway's mix: keys, teams, events,
// models and deployments from the given numbers of each, statuses, hours
// either side of midnight and before 1970, labels that text() changes.
func rollupRecords(n, keys int) []usage.Record {
	rnd := rand.New(rand.NewPCG(7, 8))
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	out := make([]usage.Record, n)
	for i := range out {
		k := rnd.IntN(keys)
		at := start.Add(time.Duration(rnd.IntN(4*3600)) * time.Second)
		if i%97 == 0 {
			at = time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC)
		}
		p, c := rnd.IntN(4000), rnd.IntN(800)
		r := usage.Record{
			Time: at, RequestID: fmt.Sprint("req-", i), KeyID: fmt.Sprint("key-", k), TeamID: fmt.Sprint("team-", k%3),
			Model: fmt.Sprint("model-", rnd.IntN(2)), Deployment: fmt.Sprint("dep-", rnd.IntN(3)), Endpoint: "chat",
			Status: []int{200, 200, 200, 429, 500, 499}[rnd.IntN(6)], Attempts: 1,
			Latency:      time.Duration(rnd.IntN(5000)) * time.Millisecond,
			PromptTokens: p, CompletionTokens: c, TotalTokens: p + c, CachedTokens: p / 3, AudioSeconds: rnd.Float64(),
			Cost: float64(p)*2.5e-6 + float64(c)*1e-5 + rnd.Float64()*1e-9, Estimated: i%5 == 0,
		}
		switch i % 50 {
		case 1:
			r.EventID = "event\x00"
		case 2:
			r.KeyID = "key-\xff"
		}
		out[i] = r
	}
	return out
}

func TestRollUpSameRowsAsEachRecord(t *testing.T) {
	for _, keys := range []int{1, 40} {
		records := rollupRecords(3000, keys)
		got, want := rollUp(records), rollUpEachRecord(records)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(rollupRow{}, rollupKey{}, rollupSums{}, histCount{})); diff != "" {
			t.Errorf("%d keys: rollUp (-want +got):\n%s", keys, diff)
		}
	}
}

// BenchmarkRollUp is the rollups of a batch of 5,000 records (the
// writer's default) as the bench's plain gateway sends them (one key,
// latencies of a few milliseconds), and of a mix from one key and from
// 500. Besides wall time it reports the process's CPU per record (see
// BenchmarkInsertUsagePlain).
//
//	go test -run '^$' -bench RollUp ./internal/store/
func BenchmarkRollUp(b *testing.B) {
	for _, tc := range []struct {
		name    string
		records []usage.Record
	}{
		{"plain", plainBatch(5000, 0)},
		{"keys=1", rollupRecords(5000, 1)},
		{"keys=500", rollupRecords(5000, 500)},
	} {
		for name, rollUpFn := range map[string]func([]usage.Record) []rollupRow{"new": rollUp, "old": rollUpEachRecord} {
			b.Run(name+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				before, ok := processCPU()
				for b.Loop() {
					rollUpFn(tc.records)
				}
				after, ok2 := processCPU()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tc.records)), "ns/record")
				if ok && ok2 {
					b.ReportMetric(float64((after-before).Nanoseconds())/float64(b.N*len(tc.records)), "cpu-ns/record")
				}
			})
		}
	}
}

// BenchmarkInsertUsagePlain is InsertUsage on SQLite (a file in WAL, as
// the gateway's default store) of batches of 5,000 records as the plain
// path makes them at 9,000 requests/s, which fill the writer's batches:
// a static key, one model, a few deployments, no team, event, end user or
// token details, so that whole chunks of them are lean, and every batch
// within the same hour and day, so it upserts a few rollup rows. Besides
// wall time it reports the process's CPU per record (user and system
// time, so the garbage collector's share counts), which the machine's
// other load does not change.
//
//	go test -run '^$' -bench InsertUsagePlain -benchtime 40x ./internal/store/
func BenchmarkInsertUsagePlain(b *testing.B) {
	st, err := Open(b.Context(), "sqlite://"+filepath.Join(b.TempDir(), "u.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const batch = 5000
	records := make([]usage.Record, batch)
	rnd := rand.New(rand.NewPCG(9, 10))
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	n := 0
	next := func() {
		for i := range records {
			p, c := rnd.IntN(4000), rnd.IntN(800)
			latency := time.Duration(200+rnd.IntN(2000)) * time.Microsecond
			records[i] = usage.Record{
				Time: at, RequestID: fmt.Sprintf("%016x", n), KeyID: "static", Model: "gpt-4o",
				Deployment: fmt.Sprint("dep-", rnd.IntN(3)), Endpoint: "chat", Status: 200, Attempts: 1,
				Latency: latency, TTFB: latency / 2, PromptTokens: p, CompletionTokens: c, TotalTokens: p + c,
				Cost: float64(p)*2.5e-6 + float64(c)*1e-5,
			}
			at = at.Add(time.Second / 9000)
			n++
		}
	}
	next()
	if err := st.InsertUsage(b.Context(), records); err != nil { // prepares the statements
		b.Fatal(err)
	}
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		next()
		b.StartTimer()
		before, ok := processCPU()
		if err := st.InsertUsage(b.Context(), records); err != nil {
			b.Fatal(err)
		}
		if after, ok2 := processCPU(); ok && ok2 {
			cpu += after - before
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/record")
	}
}

// TestRollUpAllocs pins what the rollups of a plain batch allocate: a
// record's counts and histogram bucket go to the sums of its set of
// labels, whose histograms are merged into each row once, so a row's
// histogram is not grown a record at a time (112 allocations a batch
// then).
func TestRollUpAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	records := plainBatch(5000, 0)
	allocs := testing.AllocsPerRun(5, func() { rollUp(records) })
	if got, want := allocs, 70.0; got > want {
		t.Errorf("allocations a batch: got %.0f, want at most %.0f", got, want)
	}
}
