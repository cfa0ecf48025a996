package store_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// BenchmarkInsertUsage measures the usage writer's store side: batches of
// 5,000 records (the writer's default, which batches fill to under load)
// and of 500, from 500 keys, 4 models and 12 deployments, each batch a few
// seconds of traffic, as a gateway at 1,000 requests/s sends them. It
// reports records/s; DESIGN.md asks for at least 20,000 on PostgreSQL
// with rollups kept.
//
// warm=0 starts from empty rollups; warm=200000 first writes 200,000
// records (untimed) into the same hour and day, so the rollup rows the
// timed batches update hold long latency histograms, as they do after an
// hour of traffic: the steady state, where merging histograms costs most.
//
//	go test -run '^$' -bench InsertUsage -benchtime 40x ./internal/store/
func BenchmarkInsertUsage(b *testing.B) {
	for _, db := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "usage.db") }},
		{"postgres", func(b *testing.B) string { postgresURL(b); return postgresSchema(b) }},
	} {
		for _, warm := range []int{0, 200_000} {
			for _, batch := range []int{500, 5000} {
				b.Run(fmt.Sprintf("%s/warm=%d/batch=%d", db.name, warm, batch), func(b *testing.B) {
					st := openClosed(b, db.url(b), nil)
					rnd := rand.New(rand.NewPCG(3, 4))
					start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
					n := 0
					for n < warm {
						records := make([]usage.Record, 10_000)
						for i := range records {
							records[i] = benchRecord(rnd, n, start.Add(time.Duration(n)*time.Millisecond))
							n++
						}
						if err := st.InsertUsage(b.Context(), records); err != nil {
							b.Fatal(err)
						}
					}
					records := make([]usage.Record, batch)
					timed := 0
					b.ReportAllocs()
					for b.Loop() {
						for i := range records {
							records[i] = benchRecord(rnd, n, start.Add(time.Duration(n)*time.Millisecond))
							n++
						}
						timed += batch
						if err := st.InsertUsage(b.Context(), records); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(timed)/b.Elapsed().Seconds(), "records/s")
				})
			}
		}
	}
}

// benchRecord is record i of a gateway's mix at t.
func benchRecord(rnd *rand.Rand, i int, t time.Time) usage.Record {
	prompt, completion := rnd.IntN(4000), rnd.IntN(800)
	status := 200
	if rnd.IntN(50) == 0 {
		status = 429
	}
	latency := time.Duration(math.Exp(rnd.NormFloat64()*0.8+math.Log(800)) * float64(time.Millisecond))
	dep := rnd.IntN(12)
	key := rnd.IntN(500)
	return usage.Record{
		Time:             t,
		RequestID:        fmt.Sprintf("req-%09d", i),
		KeyID:            fmt.Sprintf("key-%03d", key),
		TeamID:           fmt.Sprintf("team-%02d", key%20),
		EventID:          fmt.Sprintf("event-%d", key%10),
		Model:            fmt.Sprintf("model-%d", dep%4),
		Deployment:       fmt.Sprintf("deployment-%02d", dep),
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
	}
}
