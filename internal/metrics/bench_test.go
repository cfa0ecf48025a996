package metrics_test

import (
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/usage"
)

// BenchmarkObserve is the per-request cost: a streamed success after one
// failover, with tokens, cost and every series already created.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New(metrics.Options{})
	r := usage.Record{
		KeyID: "key-1", Model: "gpt-4o", Deployment: "gpt-4o-east", Endpoint: "chat",
		Status: 200, Attempts: 2, Stream: true, Latency: 2 * time.Second, TTFB: 300 * time.Millisecond,
		PromptTokens: 1200, CompletionTokens: 300, TotalTokens: 1500, Cost: 0.0042,
	}
	m.Observe(r)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r)
		}
	})
}

// BenchmarkObserveUnanswered is a request no deployment answered, whose
// model is checked against the router's.
func BenchmarkObserveUnanswered(b *testing.B) {
	m := metrics.New(metrics.Options{})
	r := usage.Record{KeyID: "key-1", Model: "gpt-4o", Endpoint: "chat", Status: 503, Attempts: 3, Latency: time.Second}
	m.Observe(r)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r)
		}
	})
}
