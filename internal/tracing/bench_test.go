package tracing

import (
	"context"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/spillwayhq/spillway/internal/usage"
)

// BenchmarkStartEndRequest measures what tracing adds to a request with
// one attempt: nil is tracing off; enabled records every span into an SDK
// provider without an exporter; unsampled is a request the ratio sampler
// left out.
func BenchmarkStartEndRequest(b *testing.B) {
	rec := usage.Record{
		Model: "gpt-4o", Deployment: "azure-east", Endpoint: "chat", Status: http.StatusOK,
		Attempts: 1, PromptTokens: 12, CompletionTokens: 30, TotalTokens: 42, Cost: 0.0004,
	}
	run := func(b *testing.B, tr *Tracer) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			rctx, req := tr.StartRequest(ctx, "chat", "gpt-4o", true, 256)
			_, a := tr.StartAttempt(rctx, "azure-east", "azure", "gpt-4o", "east.openai.azure.com", 1)
			a.EndAttempt(http.StatusOK, "", nil)
			req.EndRequest(rec)
		}
	}
	b.Run("nil", func(b *testing.B) { run(b, nil) })
	b.Run("enabled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		run(b, NewWithProvider(tp))
	})
	b.Run("unsampled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		run(b, NewWithProvider(tp))
	})
}
