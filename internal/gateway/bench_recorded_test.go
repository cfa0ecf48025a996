package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// recordedRecorders is spillway serve's recorder: the usage writer and
// the metrics, each given every record.
type recordedRecorders struct {
	w *usage.Writer
	m *metrics.Metrics
}

func (r recordedRecorders) Record(rec usage.Record) {
	r.w.Record(rec)
	r.m.Observe(rec)
}

// recordedGateway is benchGateway with what spillway serve adds on the
// plain path: usage records written to SQLite by a running usage writer,
// and metrics. A benchmark's process CPU time (not its ns/op: the writer
// works in its own goroutine) is the request's whole cost.
func recordedGateway(b *testing.B, respBody string) *Gateway {
	b.Helper()
	st, err := store.Open(b.Context(), "sqlite://"+filepath.Join(b.TempDir(), "usage.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	w := usage.NewWriter(st, usage.WriterOptions{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	b.Cleanup(func() {
		cancel()
		<-done
		_ = w.Close(context.Background())
		st.Close()
	})
	deps := []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1}}
	r, err := router.New(router.Options{}, deps)
	if err != nil {
		b.Fatal(err)
	}
	return New(Options{
		Router:    r,
		Auth:      auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}),
		Transport: &cannedTransport{body: []byte(respBody), header: http.Header{"Content-Type": {"application/json"}}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Recorder:  recordedRecorders{w, metrics.New(metrics.Options{Router: r})},
	})
}

// BenchmarkServeChatRecorded is BenchmarkServeChat as spillway serve runs
// it: the answer's usage recorded to SQLite and the metrics. Compare the
// process CPU time of a fixed count, e.g.
//
//	go test -c ./internal/gateway && /usr/bin/time ./gateway.test -test.run '^$' -test.bench 'ChatRecorded$' -test.benchtime 60000x -test.cpu 1
func BenchmarkServeChatRecorded(b *testing.B) {
	benchServe(b, recordedGateway(b, benchChatResponse), "/v1/chat/completions",
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`)
}

// BenchmarkServeResponsesRecorded is BenchmarkServeChatRecorded for the
// Responses API.
func BenchmarkServeResponsesRecorded(b *testing.B) {
	benchServe(b, recordedGateway(b, benchResponsesResponse), "/v1/responses",
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`)
}
