package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/spillwayhq/spillway/internal/tracing"
)

// TestRealtimeTracing: a session is one server span in the client's
// trace, ended when the session is recorded, and the upstream handshake
// carries that trace.
func TestRealtimeTracing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(t.Context())
	parents := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parents <- r.Header.Get("Traceparent")
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"session.created","session":{}}`))
		_, _, _ = c.Read(context.Background())
	}))
	defer up.Close()
	e := newRTEnv(t, rtOptions{eastEndpoint: up.URL})
	e.gateways[0].tracer = tracing.NewWithProvider(tp)

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	c, resp, err := e.dialWith(0, "/v1/realtime?model=gpt-realtime", &websocket.DialOptions{HTTPHeader: http.Header{
		"Authorization": {"Bearer sk-key-open"}, "Traceparent": {"00-" + clientTrace + "-00f067aa0ba902b7-01"}}})
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, rtBody(resp))
	}
	next(t, c)
	c.Close(websocket.StatusNormalClosure, "")
	e.recs.wait(t, 1)
	if p := <-parents; !strings.Contains(p, clientTrace) {
		t.Errorf("upstream traceparent %q, want the client's trace %s", p, clientTrace)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != clientTrace || spans[0].SpanKind.String() != "server" {
		t.Fatalf("spans %+v, want one server span in the client's trace", spans)
	}
}
