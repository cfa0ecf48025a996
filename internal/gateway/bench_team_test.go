package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// BenchmarkServeChatTeam is BenchmarkServeChatLimited for 64 keys of one
// team: each request is counted against its key's rpm and tpm and the
// team's, which all 64 keys share, on the memory limiter.
func BenchmarkServeChatTeam(b *testing.B) {
	lim := limits.NewMemory(nil)
	deps := []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1}}
	r, err := router.New(router.Options{Limiter: lim}, deps)
	if err != nil {
		b.Fatal(err)
	}
	ring := auth.NewKeyring(nil, nil)
	var keys []store.Key
	for i := range 64 {
		h := auth.Hash("sk-bench-" + strconv.Itoa(i))
		keys = append(keys, store.Key{ID: "k" + strconv.Itoa(i), Hash: h[:], TeamID: "t",
			Models: []string{"gpt-4o"}, MaxTokens: 512, RPM: 1 << 40, TPM: 1 << 50})
	}
	ring.LoadAccess(keys, nil, []store.Team{{ID: "t", Models: []string{"gpt-4o", "o3"}, RPM: 1 << 40, TPM: 1 << 50}})
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
