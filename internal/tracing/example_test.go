package tracing_test

import (
	"context"
	"fmt"
	"net/http"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/spillwayhq/spillway/internal/tracing"
	"github.com/spillwayhq/spillway/internal/usage"
)

// The gateway's calls for a chat request whose first attempt was rate
// limited and whose second succeeded.
func Example() {
	sr := tracetest.NewSpanRecorder()
	tr := tracing.NewWithProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr)))

	incoming := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	ctx := tr.Extract(context.Background(), incoming)
	ctx, req := tr.StartRequest(ctx, "chat", "gpt-4o", false, 0)

	for i, dep := range []string{"azure-east", "azure-west"} {
		actx, a := tr.StartAttempt(ctx, dep, "azure", "gpt-4o", dep+".openai.azure.com", i+1)
		upstream := http.Header{}
		tr.Inject(actx, upstream) // continue the trace upstream
		if i == 0 {
			a.EndAttempt(http.StatusTooManyRequests, "rate-limited", nil)
			continue
		}
		a.EndAttempt(http.StatusOK, "", nil)
	}
	req.EndRequest(usage.Record{Status: http.StatusOK, Deployment: "azure-west", Attempts: 2})

	for _, s := range sr.Ended() {
		fmt.Printf("%-6s %s %s\n", s.SpanKind(), s.Name(), s.Status().Code)
	}
	// Output:
	// client chat gpt-4o Error
	// client chat gpt-4o Unset
	// server chat gpt-4o Unset
}
