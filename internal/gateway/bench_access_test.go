package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// BenchmarkServeChatLimited is BenchmarkServeChat for an attendee key with
// a model allow-list, a max_tokens cap, rpm and tpm, an event daily cap,
// and deployments with rpm and tpm: every counted limit on the memory
// limiter, the prompt estimated for admission (usage.AdmissionTokens).
func BenchmarkServeChatLimited(b *testing.B) {
	benchServeChatLimited(b, limits.NewMemory(nil))
}

// BenchmarkServeChatLimitedRedis is BenchmarkServeChatLimited with the
// counts in the real Redis, behind the Fallback as `spillway serve` runs
// them: one round trip to admit the request (the key's limits and the
// deployment's), and its tpm corrections summed with the others' and
// sent every 5 ms (WithCoalescing). Without the Redis batcher.
func BenchmarkServeChatLimitedRedis(b *testing.B) {
	client := benchRedis(b)
	prefix := "spillway-bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	fb := limits.NewFallback(limits.NewRedis(client, prefix, nil), limits.NewMemory(nil), slog.New(slog.DiscardHandler)).
		WithCoalescing(5*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fb.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	benchServeChatLimited(b, fb)
}

func benchServeChatLimited(b *testing.B, lim limits.Limiter) {
	var deps []config.Deployment
	for _, id := range []string{"a", "b"} {
		deps = append(deps, config.Deployment{ID: id, Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1,
			RPM: 1 << 40, TPM: 1 << 50})
	}
	r, err := router.New(router.Options{Limiter: lim}, deps)
	if err != nil {
		b.Fatal(err)
	}
	ring := auth.NewKeyring(nil, nil)
	now := time.Now()
	var keys []store.Key
	for i := range 64 {
		h := auth.Hash("sk-bench-" + strconv.Itoa(i))
		keys = append(keys, store.Key{ID: "k" + strconv.Itoa(i), Hash: h[:], EventID: "ev", Attendee: strconv.Itoa(i),
			Models: []string{"gpt-4o"}, MaxTokens: 512, RPM: 1 << 40, TPM: 1 << 50})
	}
	ring.Load(keys, []store.Event{{ID: "ev", Name: "bench", Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour), DailyRequestCap: 1 << 40, Active: true}})
	g := New(Options{
		Router:    r,
		Auth:      ring,
		Transport: &cannedTransport{body: []byte(benchChatResponse), header: http.Header{"Content-Type": {"application/json"}}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Access:    access.New(access.Options{Limiter: lim, Logger: slog.New(slog.DiscardHandler)}),
	})
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that helps people find information."},{"role":"user","content":"Hello"}],"max_tokens":64}`)
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := "Bearer sk-bench-" + strconv.Itoa(int(n.Add(1))%64)
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Authorization", key)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// benchRedis returns a client for the test Redis (testenv decides whether
// a missing one skips or fails).
func benchRedis(b *testing.B) *redis.Client {
	opts, err := redis.ParseURL(testenv.Redis(b))
	if err != nil {
		b.Fatal(err)
	}
	client := redis.NewClient(opts)
	b.Cleanup(func() { client.Close() })
	return client
}
