package tracing

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func testSpans() []*tracepb.ResourceSpans {
	return []*tracepb.ResourceSpans{
		{SchemaUrl: "a", ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "one"}, {Name: "two"}}}}},
		{SchemaUrl: "b"},
	}
}

// TestMarshalExportRequest decodes the hand-framed request with the
// collector's own generated type.
func TestMarshalExportRequest(t *testing.T) {
	for _, spans := range [][]*tracepb.ResourceSpans{nil, testSpans()} {
		b, err := marshalExportRequest(spans)
		if err != nil {
			t.Fatal(err)
		}
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatalf("not an ExportTraceServiceRequest: %v", err)
		}
		want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: spans}
		if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
			t.Errorf("decoded request (-want +got):\n%s", diff)
		}
	}
}

func TestParseOTLPHeaders(t *testing.T) {
	tests := []struct {
		in      string
		want    http.Header
		wantErr bool
	}{
		{"", http.Header{}, false},
		{"api-key=secret", http.Header{"Api-Key": {"secret"}}, false},
		{" a = 1 , b=two%20words,", http.Header{"A": {"1"}, "B": {"two words"}}, false},
		{"novalue", nil, true},
		{"=x", nil, true},
		{"k=%zz", nil, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		err := parseOTLPHeaders(h, tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseOTLPHeaders(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && !cmp.Equal(h, tt.want) {
			t.Errorf("parseOTLPHeaders(%q) = %v, want %v", tt.in, h, tt.want)
		}
	}
}

// scriptedCollector answers each export with the next status of its
// script (200 once the script runs out) and keeps what it received.
type scriptedCollector struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (s *scriptedCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, b)
	s.headers = append(s.headers, r.Header.Clone())
	status := http.StatusOK
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	w.WriteHeader(status)
}

func TestUploadTraces(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		statuses []int
		wantErr  string
		wantPost int
	}{
		{name: "ok", wantPost: 1},
		{name: "throttled then ok", statuses: []int{429, 503, 502, 504}, wantPost: 5},
		{name: "bad request is final", statuses: []int{400}, wantErr: "400", wantPost: 1},
		{name: "unauthorized is final", statuses: []int{503, 401}, wantErr: "401", wantPost: 2},
		{name: "gzip and headers", env: map[string]string{
			"OTEL_EXPORTER_OTLP_COMPRESSION":    "gzip",
			"OTEL_EXPORTER_OTLP_HEADERS":        "x-tenant=a,x-extra=1",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-tenant=b",
		}, wantPost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			col := &scriptedCollector{statuses: tt.statuses}
			srv := httptest.NewServer(col)
			defer srv.Close()
			c, err := newOTLPClient(srv.URL+"/v1/traces", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			c.retryBase = time.Millisecond
			err = c.UploadTraces(t.Context(), testSpans())
			if tt.wantErr == "" && err != nil {
				t.Fatalf("UploadTraces: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("UploadTraces error = %v, want one naming %s", err, tt.wantErr)
			}
			if got := len(col.bodies); got != tt.wantPost {
				t.Fatalf("collector got %d posts, want %d", got, tt.wantPost)
			}
			last := len(col.bodies) - 1
			var req coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(col.bodies[last], &req); err != nil || len(req.GetResourceSpans()) != 2 {
				t.Errorf("last body decodes to %d resource spans (err %v), want 2", len(req.GetResourceSpans()), err)
			}
			h := col.headers[last]
			if got, want := h.Get("Content-Type"), "application/x-protobuf"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if tt.env != nil {
				if got, want := h.Get("X-Tenant"), "b"; got != want {
					t.Errorf("X-Tenant = %q, want %q (the traces variable wins)", got, want)
				}
				if got, want := h.Get("X-Extra"), "1"; got != want {
					t.Errorf("X-Extra = %q, want %q", got, want)
				}
				if got, want := h.Get("Content-Encoding"), "gzip"; got != want {
					t.Errorf("Content-Encoding = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestUploadTracesGivesUp shows a collector that is never back does not
// hold an upload past its context, nor past Stop.
func TestUploadTracesGivesUp(t *testing.T) {
	clearOTelEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	c, err := newOTLPClient(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.UploadTraces(ctx, testSpans()) }()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("after cancel: %v, want a context error", err)
	}

	go func() { done <- c.UploadTraces(t.Context(), testSpans()) }()
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("after Stop: %v, want the exporter stopped", err)
	}
}

func TestNewOTLPClientEnvironment(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{nil, "http://localhost:4318/v1/traces", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/base"}, "http://c:4318/base/v1/traces", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t/custom"}, "https://t/custom", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "c:4318"}, "", true},
		{map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "", true},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "broken"}, "", true},
	}
	for _, tt := range tests {
		clearOTelEnv(t)
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		c, err := newOTLPClient("", http.DefaultClient)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: error = %v, want error %v", tt.env, err, tt.wantErr)
			continue
		}
		if err == nil && c.url != tt.want {
			t.Errorf("%v: url = %q, want %q", tt.env, c.url, tt.want)
		}
	}
}
