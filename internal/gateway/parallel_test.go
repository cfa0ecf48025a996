package gateway

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestMaxParallelRequests: a key with max_parallel_requests 1 gets a 429
// while its stream runs, and its slot comes back when the client leaves
// mid-stream.
func TestMaxParallelRequests(t *testing.T) {
	clk := newClock()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // talks until the gateway hangs up
	}))
	defer upstream.Close()
	dep := accessTestDeployment("chat", "gpt-4o", config.ClassChat, 1, 0, 0)
	dep.Endpoint = upstream.URL
	lim := limits.NewMemory(clk.Now)
	r, err := router.New(router.Options{Now: clk.Now, Limiter: lim}, []config.Deployment{dep})
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeyring(nil, clk.Now)
	keys.Load([]store.Key{accessTestKey("key-one", store.Key{MaxParallel: 1})}, nil)
	tr := NewTransport(2*time.Second, 10*time.Second)
	defer tr.CloseIdleConnections()
	checker := access.New(access.Options{Limiter: lim, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	gw := httptest.NewServer(New(Options{Router: r, Auth: keys, Transport: tr, Access: checker,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer gw.Close()

	send := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-key-one")
		return gw.Client().Do(req)
	}
	ctx, leave := context.WithCancel(context.Background())
	first, err := send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first stream: status %d", first.StatusCode)
	}
	if _, err := bufio.NewReader(first.Body).ReadString('\n'); err != nil {
		t.Fatalf("first stream's first event: %v", err)
	}
	second, err := send(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, second.Body)
	if second.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "parallel_requests_exceeded") {
		t.Fatalf("second request while the first streams: %d %s, want 429 parallel_requests_exceeded", second.StatusCode, body)
	}
	leave() // the client goes away mid-stream
	first.Body.Close()
	// The handler gives the slot back when it returns, a moment after the
	// client left: poll for it, bounded for liveness only (a loaded
	// machine under -race took over 2 s).
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := send(ctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		ok := resp.StatusCode == http.StatusOK
		resp.Body.Close()
		cancel()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot never came back after the client left: status %d", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
