package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
)

// TestShutdownSendsCorrections: a tpm correction still waiting to be sent
// with others (settleInterval) reaches Redis when the gateway shuts down,
// before it closes its Redis client: the deployment's count ends at the
// tokens the request used, not at its estimate.
func TestShutdownSendsCorrections(t *testing.T) {
	defer func(d time.Duration) { settleInterval = d }(settleInterval)
	settleInterval = time.Hour // only the shutdown sends them
	addr, _, _ := privateRedis(t)
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	cfg := &config.Config{
		Store: "sqlite://" + filepath.Join(t.TempDir(), "s.db"),
		Redis: "redis://" + addr + "/0",
		Keys:  []config.Key{{Key: "sk-client", Name: "client"}},
		Deployments: []config.Deployment{
			{ID: "d1", Model: "gpt-4o-mini", Class: "openai-chat", Provider: "openai", Endpoint: up.URL + "/v1", APIKey: "k", TPM: 1_000_000},
		},
		AdminToken: "sk-admin",
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveGateway(ctx, cfg, make([]byte, 32), ln, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	}()
	defer func() { cancel(); <-done }()

	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Usage struct {
			TotalTokens int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || answer.Usage.TotalTokens == 0 {
		t.Fatalf("chat: status %d, usage %+v, %v", resp.StatusCode, answer.Usage, err)
	}

	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	tpm := func() int64 {
		keys, err := rc.Keys(context.Background(), "spillway:limits:{l}deployment:tpm:d1:*").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("deployment tpm counters %v, %v; want one", keys, err)
		}
		v, err := rc.Get(context.Background(), keys[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	if got := tpm(); got < 500 {
		t.Fatalf("tpm count before shutdown %d, want the estimate (over the 500 max_tokens): the correction was sent early", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serveGateway: %v", err)
	}
	done <- nil // for the deferred wait
	if got, want := tpm(), answer.Usage.TotalTokens; got != want {
		t.Errorf("tpm count after shutdown %d, want the %d tokens used", got, want)
	}
}
