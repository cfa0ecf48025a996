package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// brokenLimiter fails every count, as no production limiter should.
type brokenLimiter struct{}

var errLimiterBroken = errors.New("limiter broken")

func (brokenLimiter) Take(context.Context, string, int64, time.Duration, int64) (limits.Decision, error) {
	return limits.Decision{}, errLimiterBroken
}

func (brokenLimiter) Adjust(context.Context, string, time.Duration, int64) error { return nil }

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInternalError checks that an error that is not the gateway's own
// answer is answered as an OpenAI-shaped 500, recorded and logged as one
// with its cause, which the answer points to.
func TestInternalError(t *testing.T) {
	r, err := router.New(router.Options{}, []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeyring(nil, nil)
	keys.Load([]store.Key{accessTestKey("key-rpm", store.Key{RPM: 2})}, nil)
	var logs syncBuffer
	recs := newRecords()
	g := New(Options{Router: r, Auth: keys, Recorder: recs, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Access: access.New(access.Options{Limiter: brokenLimiter{}, Logger: slog.New(slog.DiscardHandler)})})

	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[]}`))
	req.Header.Set("Authorization", "Bearer sk-key-rpm")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)

	if got, want := w.Code, http.StatusInternalServerError; got != want {
		t.Fatalf("status = %d, want %d; body %s", got, want, w.Body)
	}
	if got, want := strings.TrimSpace(w.Body.String()), `{"error":{"message":"internal error; see the gateway log for the request id","type":"server_error","param":null,"code":"internal_error"}}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if got, want := recs.wait(t, 1).Status, http.StatusInternalServerError; got != want {
		t.Errorf("usage record status = %d, want %d", got, want)
	}
	id := w.Header().Get("X-Request-Id")
	log := logs.String()
	if !strings.Contains(log, "request_id="+id) || !strings.Contains(log, errLimiterBroken.Error()) || !strings.Contains(log, "status=500") {
		t.Errorf("log = %q, want the request id %s, the cause %q and status=500", log, id, errLimiterBroken)
	}
}
