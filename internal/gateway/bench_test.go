package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
)

// cannedTransport answers every request in memory, so the benchmarks
// measure the gateway alone.
type cannedTransport struct {
	body   []byte
	header http.Header
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: 200, Header: c.header, Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

func benchGateway(b testing.TB, respBody, contentType string) *Gateway {
	b.Helper()
	var deps []config.Deployment
	for _, id := range []string{"a", "b"} {
		deps = append(deps, config.Deployment{ID: id, Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1})
	}
	r, err := router.New(router.Options{}, deps)
	if err != nil {
		b.Fatal(err)
	}
	return New(Options{
		Router:    r,
		Auth:      auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}),
		Transport: &cannedTransport{body: []byte(respBody), header: http.Header{"Content-Type": {contentType}}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

const benchChatResponse = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}`

// BenchmarkServeChat is the hot path of a non-streaming chat request:
// auth, body read and peek, pick, upstream request, copy back.
func BenchmarkServeChat(b *testing.B) {
	benchServe(b, benchGateway(b, benchChatResponse, "application/json"), "/v1/chat/completions",
		`{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that helps people find information."},{"role":"user","content":"Hello"}],"max_tokens":64}`)
}

// BenchmarkServePlain is BenchmarkServeChat as spillway serve runs the
// plain path: a static key with no limits, through the access checker
// (which serve always has), without the usage writer
// (BenchmarkServeChatRecorded has it).
func BenchmarkServePlain(b *testing.B) {
	benchServe(b, plainTestGateway(b, benchChatResponse, "application/json"), "/v1/chat/completions",
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`)
}

// BenchmarkServePlainResponses is BenchmarkServePlain for the Responses
// API: the answer held whole to sign its id.
func BenchmarkServePlainResponses(b *testing.B) {
	benchServe(b, plainTestGateway(b, benchResponsesResponse, "application/json"), "/v1/responses",
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`)
}

// benchServe sends body to path on g from parallel goroutines.
func benchServe(b *testing.B, g *Gateway, path, body string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

const benchResponsesResponse = `{"id":"resp_68af0000deadbeef0000000000000000","object":"response","created_at":1,"status":"completed","background":false,"model":"gpt-4o","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello there, how can I help?","annotations":[]}]}],"previous_response_id":null,"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":8,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":17}}`

// BenchmarkServeResponses is BenchmarkServeChat for the Responses API: the
// same path, plus the answer held whole to sign its id.
func BenchmarkServeResponses(b *testing.B) {
	benchServe(b, benchGateway(b, benchResponsesResponse, "application/json"), "/v1/responses",
		`{"model":"gpt-4o","instructions":"You are an AI assistant that helps people find information.","input":"Hello","max_output_tokens":64}`)
}

// BenchmarkServeStream streams a 40-chunk answer.
func BenchmarkServeStream(b *testing.B) {
	var sse bytes.Buffer
	for i := range 40 {
		sse.WriteString(sseChunk(i))
	}
	sse.WriteString("data: [DONE]\n\n")
	g := benchGateway(b, sse.String(), "text/event-stream")
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
		}
	})
}

func BenchmarkPeek(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that helps people find information."},{"role":"user","content":"Hello, what is the capital of France? Answer in one word."}],"temperature":0.7,"top_p":0.95,"max_tokens":800,"stream":true}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := peek(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamCopy is a held stream's steady state: 40 events, each
// read from the upstream on its own (as a slow model sends them), through
// the meter and flushed to the client, in the stream's 1 KiB buffer under
// the idle timer. It should allocate nothing per event.
func BenchmarkStreamCopy(b *testing.B) {
	events := make([][]byte, 0, 41)
	for i := range 40 {
		events = append(events, []byte(sseChunk(i)))
	}
	events = append(events, []byte("data: [DONE]\n\n"))
	src := &eventReader{}
	up := &upstream{resp: &http.Response{Body: io.NopCloser(src)}, timeout: time.Minute}
	up.watch()
	up.bufp = streamBufPool.Get().(*[]byte)
	defer up.close()
	w := &flushDiscard{header: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		src.events, src.i = events, 0
		m := meter{stream: true, flush: true}
		if _, readErr, writeErr := copyBody(w, up, &m); readErr != nil || writeErr != nil {
			b.Fatal(readErr, writeErr)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}

// eventReader returns one event per Read, then EOF.
type eventReader struct {
	events [][]byte
	i, off int
}

func (r *eventReader) Read(p []byte) (int, error) {
	if r.i == len(r.events) {
		return 0, io.EOF
	}
	n := copy(p, r.events[r.i][r.off:])
	if r.off += n; r.off == len(r.events[r.i]) {
		r.i, r.off = r.i+1, 0
	}
	return n, nil
}

// flushDiscard is a client that takes everything.
type flushDiscard struct{ header http.Header }

func (f *flushDiscard) Header() http.Header         { return f.header }
func (f *flushDiscard) Write(p []byte) (int, error) { return len(p), nil }
func (f *flushDiscard) WriteHeader(int)             {}
func (f *flushDiscard) Flush()                      {}
