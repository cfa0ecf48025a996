package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/spillwayhq/spillway/internal/usage"
)

// newRecorded returns a Tracer whose ended spans sr records.
func newRecorded(t *testing.T) (*Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return NewWithProvider(tp), sr
}

// attrMap turns attributes into a map for cmp.Diff.
func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// byName indexes ended spans by name; names must be unique.
func byName(t *testing.T, spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	m := make(map[string]sdktrace.ReadOnlySpan, len(spans))
	for _, s := range spans {
		if _, dup := m[s.Name()]; dup {
			t.Fatalf("two spans named %q", s.Name())
		}
		m[s.Name()] = s
	}
	return m
}

func TestRequestWithRetriedAttempt(t *testing.T) {
	tr, sr := newRecorded(t)

	ctx, req := tr.StartRequest(context.Background(), "chat", "gpt-4o", true, 256)
	_, a1 := tr.StartAttempt(ctx, "azure-east", "azure", "gpt-4o-east", "east.openai.azure.com", 1)
	a1.EndAttempt(http.StatusTooManyRequests, "rate-limited", nil)
	_, a2 := tr.StartAttempt(ctx, "openai-main", "openai", "gpt-4o-2024-08-06", "api.openai.com:443", 2)
	a2.EndAttempt(http.StatusOK, "", nil)
	req.EndRequest(usage.Record{
		RequestID:        "req-1",
		KeyID:            "key-7",
		Model:            "gpt-4o",
		Deployment:       "openai-main",
		Endpoint:         "chat",
		Status:           http.StatusOK,
		Attempts:         2,
		Stream:           true,
		TTFB:             250 * time.Millisecond,
		PromptTokens:     12,
		CompletionTokens: 30,
		TotalTokens:      42,
		Cost:             0.00042,
	})

	spans := byName(t, sr.Ended())
	if got, want := len(spans), 3; got != want {
		t.Fatalf("got %d spans, want %d: %v", got, want, spans)
	}
	reqSpan, ok := spans["chat gpt-4o"]
	if !ok {
		t.Fatalf("no request span named %q in %v", "chat gpt-4o", spans)
	}
	first, ok := spans["chat gpt-4o-east"]
	if !ok {
		t.Fatalf("no attempt span named %q in %v", "chat gpt-4o-east", spans)
	}
	second, ok := spans["chat gpt-4o-2024-08-06"]
	if !ok {
		t.Fatalf("no attempt span named %q in %v", "chat gpt-4o-2024-08-06", spans)
	}

	if got, want := reqSpan.SpanKind(), trace.SpanKindServer; got != want {
		t.Errorf("request span kind = %v, want %v", got, want)
	}
	if reqSpan.Parent().IsValid() {
		t.Errorf("request span has parent %v, want a root span", reqSpan.Parent())
	}
	for _, a := range []sdktrace.ReadOnlySpan{first, second} {
		if got, want := a.SpanKind(), trace.SpanKindClient; got != want {
			t.Errorf("%s: kind = %v, want %v", a.Name(), got, want)
		}
		if got, want := a.Parent().SpanID(), reqSpan.SpanContext().SpanID(); got != want {
			t.Errorf("%s: parent span id = %v, want the request's %v", a.Name(), got, want)
		}
		if got, want := a.SpanContext().TraceID(), reqSpan.SpanContext().TraceID(); got != want {
			t.Errorf("%s: trace id = %v, want %v", a.Name(), got, want)
		}
	}

	wantReq := map[string]any{
		"gen_ai.operation.name":               "chat",
		"gen_ai.request.model":                "gpt-4o",
		"gen_ai.request.stream":               true,
		"gen_ai.request.max_tokens":           int64(256),
		"gen_ai.provider.name":                "openai",
		"gen_ai.response.model":               "gpt-4o-2024-08-06",
		"gen_ai.response.time_to_first_chunk": 0.25,
		"gen_ai.usage.input_tokens":           int64(12),
		"gen_ai.usage.output_tokens":          int64(30),
		"http.response.status_code":           int64(200),
		"spillway.endpoint":                   "chat",
		"spillway.deployment.id":              "openai-main",
		"spillway.attempts":                   int64(2),
		"spillway.cost_usd":                   0.00042,
		"spillway.request.id":                 "req-1",
		"spillway.key.id":                     "key-7",
	}
	if diff := cmp.Diff(wantReq, attrMap(reqSpan.Attributes())); diff != "" {
		t.Errorf("request span attributes (-want +got):\n%s", diff)
	}
	if got, want := reqSpan.Status().Code, codes.Unset; got != want {
		t.Errorf("request span status = %v, want %v", got, want)
	}

	wantFirst := map[string]any{
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      "azure.ai.openai",
		"gen_ai.request.model":      "gpt-4o-east",
		"server.address":            "east.openai.azure.com",
		"server.port":               int64(443),
		"spillway.deployment.id":    "azure-east",
		"spillway.attempt":          int64(1),
		"http.response.status_code": int64(429),
		"error.type":                "rate-limited",
	}
	if diff := cmp.Diff(wantFirst, attrMap(first.Attributes())); diff != "" {
		t.Errorf("first attempt attributes (-want +got):\n%s", diff)
	}
	if got, want := first.Status(), (sdktrace.Status{Code: codes.Error, Description: "Too Many Requests"}); got != want {
		t.Errorf("first attempt status = %+v, want %+v", got, want)
	}

	wantSecond := map[string]any{
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      "openai",
		"gen_ai.request.model":      "gpt-4o-2024-08-06",
		"server.address":            "api.openai.com",
		"server.port":               int64(443),
		"spillway.deployment.id":    "openai-main",
		"spillway.attempt":          int64(2),
		"http.response.status_code": int64(200),
	}
	if diff := cmp.Diff(wantSecond, attrMap(second.Attributes())); diff != "" {
		t.Errorf("second attempt attributes (-want +got):\n%s", diff)
	}
	if got, want := second.Status().Code, codes.Unset; got != want {
		t.Errorf("second attempt status = %v, want %v", got, want)
	}
}

func TestRequestServerError(t *testing.T) {
	tr, sr := newRecorded(t)

	ctx, req := tr.StartRequest(context.Background(), "embeddings", "text-embedding-3-small", false, 0)
	_, a := tr.StartAttempt(ctx, "oai", "openai-compatible", "text-embedding-3-small", "http://127.0.0.1:8081", 1)
	a.EndAttempt(http.StatusBadGateway, "transient", errors.New("upstream: 502"))
	req.EndRequest(usage.Record{Model: "text-embedding-3-small", Endpoint: "embeddings", Status: http.StatusBadGateway, Attempts: 1})

	var reqSpan, attempt sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			reqSpan = s
		case trace.SpanKindClient:
			attempt = s
		}
	}
	if reqSpan == nil || attempt == nil {
		t.Fatalf("want a request and an attempt span, got %v", sr.Ended())
	}
	if got, want := reqSpan.Name(), "embeddings text-embedding-3-small"; got != want {
		t.Errorf("request span name = %q, want %q", got, want)
	}

	wantReq := map[string]any{
		"gen_ai.operation.name":     "embeddings",
		"gen_ai.request.model":      "text-embedding-3-small",
		"gen_ai.request.stream":     false,
		"http.response.status_code": int64(502),
		"error.type":                "502",
		"spillway.endpoint":         "embeddings",
		"spillway.attempts":         int64(1),
	}
	if diff := cmp.Diff(wantReq, attrMap(reqSpan.Attributes())); diff != "" {
		t.Errorf("request span attributes (-want +got):\n%s", diff)
	}
	if got, want := reqSpan.Status(), (sdktrace.Status{Code: codes.Error, Description: "Bad Gateway"}); got != want {
		t.Errorf("request span status = %+v, want %+v", got, want)
	}

	got := attrMap(attempt.Attributes())
	if got["error.type"] != "transient" || got["server.address"] != "127.0.0.1" || got["server.port"] != int64(8081) {
		t.Errorf("attempt attributes = %v, want error.type transient at 127.0.0.1:8081", got)
	}
	if got, want := attempt.Status(), (sdktrace.Status{Code: codes.Error, Description: "upstream: 502"}); got != want {
		t.Errorf("attempt status = %+v, want %+v", got, want)
	}
}

func TestRequestClientErrorIsNotAnError(t *testing.T) {
	tr, sr := newRecorded(t)
	_, req := tr.StartRequest(context.Background(), "completions", "gpt-35-turbo-instruct", false, 0)
	req.EndRequest(usage.Record{Status: 499})

	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if got, want := s.Name(), "text_completion gpt-35-turbo-instruct"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if got, want := s.Status().Code, codes.Unset; got != want {
		t.Errorf("status = %v, want %v for a 499", got, want)
	}
	if _, ok := attrMap(s.Attributes())["error.type"]; ok {
		t.Errorf("error.type set for a 499: %v", s.Attributes())
	}
}

func TestImagesRequest(t *testing.T) {
	tr, sr := newRecorded(t)
	_, req := tr.StartRequest(context.Background(), "images", "dall-e-3", false, 0)
	req.EndRequest(usage.Record{Status: http.StatusOK, Attempts: 1})

	s := sr.Ended()[0]
	if got, want := s.Name(), "generate_content dall-e-3"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	got := attrMap(s.Attributes())
	if got["gen_ai.operation.name"] != "generate_content" || got["gen_ai.output.type"] != "image" || got["spillway.endpoint"] != "images" {
		t.Errorf("attributes = %v, want generate_content with output type image for images", got)
	}
}

// typedErr has an ErrorType method, which errorType must prefer.
type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "upstream_closed" }

func TestAttemptErrorType(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		verdict string
		err     error
		want    string // "" = success: no error.type, status unset
	}{
		{"ok", 200, "", nil, ""},
		{"verdict wins", 429, "rate-limited", nil, "rate-limited"},
		{"status without verdict", 503, "", nil, "503"},
		{"deadline", 0, "", fmt.Errorf("dial: %w", context.DeadlineExceeded), "timeout"},
		{"canceled", 0, "", context.Canceled, "canceled"},
		{"ErrorType method", 0, "", fmt.Errorf("read: %w", typedErr{}), "upstream_closed"},
		{"wrapped type", 0, "", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &http.MaxBytesError{Limit: 1})), "net/http.MaxBytesError"},
		{"stream broke after 200", 200, "", errors.New("eof"), "errors.errorString"},
		{"no status no error", 0, "", nil, "_OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, sr := newRecorded(t)
			_, a := tr.StartAttempt(context.Background(), "d", "openai", "m", "h", 1)
			a.EndAttempt(tt.status, tt.verdict, tt.err)
			s := sr.Ended()[0]
			got, _ := attrMap(s.Attributes())["error.type"].(string)
			if got != tt.want {
				t.Errorf("error.type = %q, want %q", got, tt.want)
			}
			wantCode := codes.Error
			if tt.want == "" {
				wantCode = codes.Unset
			}
			if s.Status().Code != wantCode {
				t.Errorf("status = %v, want %v", s.Status().Code, wantCode)
			}
		})
	}
}

func TestAttemptWithoutRequest(t *testing.T) {
	tr, sr := newRecorded(t)
	_, a := tr.StartAttempt(context.Background(), "d", "azure", "", "", 3)
	a.EndAttempt(http.StatusOK, "", nil)
	s := sr.Ended()[0]
	if got, want := s.Name(), "spillway.attempt"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	want := map[string]any{
		"gen_ai.provider.name":      "azure.ai.openai",
		"spillway.deployment.id":    "d",
		"spillway.attempt":          int64(3),
		"http.response.status_code": int64(200),
	}
	if diff := cmp.Diff(want, attrMap(s.Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestUnsampledRequest(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := NewWithProvider(tp)

	ctx, req := tr.StartRequest(context.Background(), "chat", "m", false, 0)
	_, a := tr.StartAttempt(ctx, "d", "openai", "m", "h", 1)
	a.EndAttempt(http.StatusOK, "", nil)
	req.EndRequest(usage.Record{Status: http.StatusOK})
	if got := len(sr.Ended()); got != 0 {
		t.Errorf("recorded %d spans of an unsampled trace, want 0", got)
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Errorf("an unsampled request has no span context to propagate")
	}
}

func TestNilTracerAllocatesNothing(t *testing.T) {
	var tr *Tracer
	ctx := context.Background()
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	rec := usage.Record{Model: "gpt-4o", Status: 200, Attempts: 1, PromptTokens: 3}
	failure := errors.New("boom")

	allocs := testing.AllocsPerRun(100, func() {
		rctx := tr.Extract(ctx, h)
		rctx, req := tr.StartRequest(rctx, "chat", "gpt-4o", true, 100)
		actx, a := tr.StartAttempt(rctx, "d", "azure", "gpt-4o", "x.openai.azure.com", 1)
		tr.Inject(actx, h)
		a.EndAttempt(429, "rate-limited", failure)
		req.EndRequest(rec)
		if err := tr.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if rctx != ctx || req != nil || a != nil {
			t.Fatal("a nil Tracer changed the context or returned a span")
		}
	})
	if allocs != 0 {
		t.Errorf("nil Tracer: %v allocations per request, want 0", allocs)
	}
	if got := len(h); got != 1 {
		t.Errorf("nil Tracer wrote headers: %v", h)
	}
}

func TestServerAddress(t *testing.T) {
	tests := []struct {
		host     string
		wantAddr string
		wantPort int
	}{
		{"api.openai.com", "api.openai.com", 443},
		{"x.openai.azure.com:8443", "x.openai.azure.com", 8443},
		{"127.0.0.1:8081", "127.0.0.1", 8081},
		{"[::1]:9000", "::1", 9000},
		{"[::1]", "::1", 443},
		{"http://localhost", "localhost", 80},
		{"https://x.openai.azure.com/openai", "x.openai.azure.com", 443},
		{"http://127.0.0.1:4000", "127.0.0.1", 4000},
	}
	for _, tt := range tests {
		addr, port := serverAddress(tt.host)
		if addr != tt.wantAddr || port != tt.wantPort {
			t.Errorf("serverAddress(%q) = %q, %d; want %q, %d", tt.host, addr, port, tt.wantAddr, tt.wantPort)
		}
	}
}

func TestNames(t *testing.T) {
	ops := map[string]string{
		"chat":            "chat",
		"extensions-chat": "chat",
		"completions":     "text_completion",
		"embeddings":      "embeddings",
		"images":          "generate_content",
		"responses":       "responses",
	}
	for in, want := range ops {
		if got := operationName(in); got != want {
			t.Errorf("operationName(%q) = %q, want %q", in, got, want)
		}
	}
	providers := map[string]string{
		"azure":             "azure.ai.openai",
		"openai":            "openai",
		"openai-compatible": "openai",
		"azure.ai.openai":   "azure.ai.openai",
	}
	for in, want := range providers {
		if got := providerName(in); got != want {
			t.Errorf("providerName(%q) = %q, want %q", in, got, want)
		}
	}
}
