package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/spillwayhq/spillway/internal/tracing"
)

func TestTracingSpansPerRequestAndAttempt(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(t.Context())

	var mu sync.Mutex
	var upstreamParents []string
	capture := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			upstreamParents = append(upstreamParents, r.Header.Get("Traceparent"))
			mu.Unlock()
			h(w, r)
		}
	}
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", priority: 1, handler: capture(status(429, azure429, "Retry-After", "20"))},
		&backend{id: "b", priority: 2, handler: capture(okChat("b"))},
	)
	h.gw.tracer = tracing.NewWithProvider(tp)

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 1 request + 2 attempts", len(spans))
	}
	var request tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind.String() == "server" {
			request = s
		}
	}
	if request.Name == "" || request.SpanContext.TraceID().String() != clientTrace {
		t.Fatalf("request span %q in trace %s, want the client's trace %s", request.Name, request.SpanContext.TraceID(), clientTrace)
	}
	attempts := 0
	for _, s := range spans {
		if s.SpanKind.String() == "client" {
			attempts++
			if s.Parent.SpanID() != request.SpanContext.SpanID() {
				t.Errorf("attempt span %q is not a child of the request span", s.Name)
			}
		}
	}
	if attempts != 2 {
		t.Errorf("%d attempt spans, want 2", attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range upstreamParents {
		if !strings.Contains(p, clientTrace) {
			t.Errorf("upstream traceparent %q does not continue the client's trace", p)
		}
	}
}
