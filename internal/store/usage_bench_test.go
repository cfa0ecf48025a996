package store_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// BenchmarkQueryUsage1M times the usage dashboard's queries on a million
// records spread evenly over 90 days (7.7 a minute, appended in time
// order as the writer appends them): the last 30 days, a third of the
// table, grouped by day and by model. It first inserts the records in
// batches of 10,000, which takes a while; like every benchmark it runs
// only with -bench, and on PostgreSQL only when there is one (testenv:
// 127.0.0.1:5432, or SPILLWAY_TEST_POSTGRES):
//
//	go test -run '^$' -bench QueryUsage1M ./internal/store/
func BenchmarkQueryUsage1M(b *testing.B) {
	for _, db := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "usage.db") }},
		{"postgres", func(b *testing.B) string { postgresURL(b); return postgresSchema(b) }},
	} {
		b.Run(db.name, func(b *testing.B) {
			st := openClosed(b, db.url(b), nil)
			end := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
			seedUsage(b, st, 1_000_000, end.Add(-90*24*time.Hour), end)
			for _, q := range []store.UsageQuery{
				{From: end.Add(-30 * 24 * time.Hour), To: end, GroupBy: store.GroupByDay},
				{From: end.Add(-30 * 24 * time.Hour), To: end, GroupBy: store.GroupByModel},
			} {
				plan, err := store.ExplainUsage(b.Context(), st, q)
				if err != nil {
					b.Fatal(err)
				}
				b.Run("30d_by_"+q.GroupBy, func(b *testing.B) {
					b.Logf("plan:\n%s", plan)
					b.ReportAllocs()
					var requests int64
					for b.Loop() {
						rows, err := st.QueryUsage(b.Context(), q)
						if err != nil {
							b.Fatal(err)
						}
						requests = 0
						for _, r := range rows {
							requests += r.Requests
						}
					}
					b.ReportMetric(float64(requests), "records/op")
				})
			}
		})
	}
}

// seedUsage inserts n records evenly spread over [from, to), in time
// order, with a gateway's mix of models, deployments, keys and outcomes.
func seedUsage(b *testing.B, st store.Store, n int, from, to time.Time) {
	b.Helper()
	const batch = 10_000
	rnd := rand.New(rand.NewPCG(1, 2))
	step := to.Sub(from) / time.Duration(n)
	records := make([]usage.Record, 0, batch)
	start := time.Now()
	for i := range n {
		prompt, completion := rnd.IntN(4000), rnd.IntN(800)
		status := 200
		if rnd.IntN(50) == 0 {
			status = 429
		}
		latency := time.Duration(math.Exp(rnd.NormFloat64()*0.8+math.Log(800)) * float64(time.Millisecond))
		records = append(records, usage.Record{
			Time:             from.Add(time.Duration(i) * step),
			RequestID:        fmt.Sprintf("req-%07d", i),
			KeyID:            fmt.Sprintf("key-%03d", rnd.IntN(500)),
			EventID:          fmt.Sprintf("event-%d", rnd.IntN(10)),
			Model:            fmt.Sprintf("model-%d", rnd.IntN(8)),
			Deployment:       fmt.Sprintf("deployment-%02d", rnd.IntN(24)),
			Endpoint:         "chat",
			Status:           status,
			Attempts:         1,
			Stream:           true,
			Latency:          latency,
			TTFB:             latency / 4,
			PromptTokens:     prompt,
			CompletionTokens: completion,
			TotalTokens:      prompt + completion,
			Cost:             float64(prompt)*2.5e-6 + float64(completion)*1e-5,
		})
		if len(records) == batch || i == n-1 {
			if err := st.InsertUsage(b.Context(), records); err != nil {
				b.Fatal(err)
			}
			records = records[:0]
		}
	}
	took := time.Since(start)
	b.Logf("inserted %d records in %v (%.0f records/s)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
}
