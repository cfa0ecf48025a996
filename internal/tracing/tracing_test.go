package tracing

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/spillwayhq/spillway/internal/usage"
)

// clearOTelEnv keeps the developer's OTEL_* settings out of a test.
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "") // restores the value after the test
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestNewOff(t *testing.T) {
	clearOTelEnv(t)
	tr, err := New(context.Background(), Options{ServiceName: "x", SampleRatio: 0.5})
	if err != nil || tr != nil {
		t.Fatalf("New(tracing off) = %v, %v; want nil, nil", tr, err)
	}
	if NewWithProvider(nil) != nil {
		t.Errorf("NewWithProvider(nil) is not nil")
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr string // "" = valid
	}{
		{"zero", Options{}, ""},
		{"endpoint", Options{Endpoint: "http://127.0.0.1:4318", SampleRatio: 0.25}, ""},
		{"https with path", Options{Endpoint: "https://otel.example/v1/traces"}, ""},
		{"negative ratio", Options{SampleRatio: -0.1}, "SampleRatio"},
		{"ratio above 1", Options{SampleRatio: 2}, "SampleRatio"},
		{"NaN ratio", Options{SampleRatio: math.NaN()}, "SampleRatio"},
		{"no scheme", Options{Endpoint: "127.0.0.1:4318"}, "Endpoint"},
		{"grpc scheme", Options{Endpoint: "grpc://collector:4317"}, "Endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
	if _, err := New(context.Background(), Options{Endpoint: "collector:4318"}); err == nil {
		t.Errorf("New with a bad Endpoint succeeded")
	}
}

func TestTracesURL(t *testing.T) {
	tests := map[string]string{
		"http://127.0.0.1:4318":            "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/":           "http://127.0.0.1:4318/v1/traces",
		"https://collector/otlp":           "https://collector/otlp/v1/traces",
		"https://collector/otlp/v1/traces": "https://collector/otlp/v1/traces",
		"http://[::1]:4318":                "http://[::1]:4318/v1/traces",
	}
	for in, want := range tests {
		got, err := tracesURL(in)
		if err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestExtractInjectRoundTrip(t *testing.T) {
	tr, sr := newRecorded(t)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	in := http.Header{"Traceparent": {traceparent}, "Tracestate": {"vendor=abc"}}

	ctx := tr.Extract(context.Background(), in)
	remote := trace.SpanContextFromContext(ctx)
	if !remote.IsRemote() || remote.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("Extract gave span context %+v, want the remote one of %s", remote, traceparent)
	}

	ctx, req := tr.StartRequest(ctx, "chat", "gpt-4o", false, 0)
	actx, a := tr.StartAttempt(ctx, "d", "openai", "gpt-4o", "api.openai.com", 1)
	out := http.Header{}
	tr.Inject(actx, out)
	a.EndAttempt(http.StatusOK, "", nil)
	req.EndRequest(usage.Record{Status: http.StatusOK, Attempts: 1})

	attemptSC := trace.SpanContextFromContext(actx)
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + attemptSC.SpanID().String() + "-01"
	if got := out.Get("Traceparent"); got != want {
		t.Errorf("injected traceparent = %q, want %q (the attempt span in the client's trace)", got, want)
	}
	if got, want := out.Get("Tracestate"), "vendor=abc"; got != want {
		t.Errorf("injected tracestate = %q, want %q", got, want)
	}

	for _, s := range sr.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			if got, want := s.Parent().SpanID().String(), "00f067aa0ba902b7"; got != want || !s.Parent().IsRemote() {
				t.Errorf("request span parent = %v (remote %v), want the client's span %s", got, s.Parent().IsRemote(), want)
			}
		}
	}

	// What Inject wrote, Extract reads back.
	back := trace.SpanContextFromContext(tr.Extract(context.Background(), out))
	if back.TraceID() != attemptSC.TraceID() || back.SpanID() != attemptSC.SpanID() || !back.IsSampled() {
		t.Errorf("round trip gave %+v, want trace %v span %v sampled", back, attemptSC.TraceID(), attemptSC.SpanID())
	}
}

// collector is an OTLP/HTTP trace receiver on loopback.
type collector struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []collected
}

type collected struct {
	method, path, contentType string
	body                      []byte
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.requests = append(c.requests, collected{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) received() []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]collected(nil), c.requests...)
}

// exportOneRequest makes a request span with one attempt, shuts tr down and
// checks the collector got them as OTLP protobuf.
func exportOneRequest(t *testing.T, tr *Tracer, c *collector, wantService string) {
	t.Helper()
	ctx, req := tr.StartRequest(context.Background(), "chat", "gpt-4o", false, 64)
	_, a := tr.StartAttempt(ctx, "d", "azure", "gpt-4o", "x.openai.azure.com", 1)
	a.EndAttempt(http.StatusOK, "", nil)
	req.EndRequest(usage.Record{Status: http.StatusOK, Attempts: 1, PromptTokens: 5, CompletionTokens: 7})

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	got := c.received()
	if len(got) == 0 {
		t.Fatal("the collector received nothing")
	}
	var names []string
	var service string
	for _, r := range got {
		if r.method != http.MethodPost || r.path != "/v1/traces" {
			t.Errorf("got %s %s, want POST /v1/traces", r.method, r.path)
		}
		if r.contentType != "application/x-protobuf" {
			t.Errorf("Content-Type = %q, want application/x-protobuf", r.contentType)
		}
		if len(r.body) == 0 {
			t.Fatal("empty export body")
		}
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(r.body, &msg); err != nil {
			t.Fatalf("body is not an ExportTraceServiceRequest: %v", err)
		}
		for _, rs := range msg.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				if got, want := ss.GetSchemaUrl(), SchemaURL; got != want {
					t.Errorf("scope schema URL = %q, want %q", got, want)
				}
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
	}
	if len(names) != 2 || names[0] != "chat gpt-4o" || names[1] != "chat gpt-4o" {
		t.Errorf("exported spans %q, want the attempt's and the request's, both %q", names, "chat gpt-4o")
	}
	if service != wantService {
		t.Errorf("service.name = %q, want %q", service, wantService)
	}
}

func TestExportToEndpoint(t *testing.T) {
	clearOTelEnv(t)
	c := newCollector(t)
	// Everything running now is the test's; whatever New starts, Shutdown
	// must stop, with the collector still up.
	before := goleak.IgnoreCurrent()

	tr, err := New(context.Background(), Options{Endpoint: c.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if tr == nil {
		t.Fatal("New with an Endpoint returned a nil Tracer")
	}
	exportOneRequest(t, tr, c, "spillway")
	goleak.VerifyNone(t, before)
}

func TestExportToEnvironmentEndpoint(t *testing.T) {
	clearOTelEnv(t)
	c := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "gateway-east")

	tr, err := New(context.Background(), Options{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	exportOneRequest(t, tr, c, "gateway-east")
}

func TestServiceName(t *testing.T) {
	tests := []struct {
		name, option, env, want string
	}{
		{"default", "", "", "spillway"},
		{"environment", "", "from-env", "from-env"},
		{"option over environment", "from-option", "from-env", "from-option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			if tt.env != "" {
				t.Setenv("OTEL_SERVICE_NAME", tt.env)
			}
			res, err := newResource(context.Background(), tt.option)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, kv := range res.Attributes() {
				if kv.Key == "service.name" {
					got = kv.Value.AsString()
				}
			}
			if got != tt.want {
				t.Errorf("service.name = %q, want %q", got, tt.want)
			}
		})
	}
}
