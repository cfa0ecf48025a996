package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestServeRealtime runs the gateway as `serve` wires it, in front of the
// simulated upstream: a session gets a response with usage and closes; a
// second one is still open at shutdown, gets the rest of the grace, and
// is then ended with the gateway_shutdown error event and close 1001.
// Every record reaches the store before serve returns.
func TestServeRealtime(t *testing.T) {
	m := mock.New(mock.Options{Name: "rt"})
	up := httptest.NewServer(m)
	defer func() { m.Close(); up.Close() }()
	dbPath := filepath.Join(t.TempDir(), "spillway.db")
	cfg := &config.Config{
		Store: "sqlite://" + dbPath,
		Keys:  []config.Key{{Key: "sk-t", Name: "t"}},
		Deployments: []config.Deployment{{ID: "rt", Model: "gpt-realtime", Class: config.ClassRealtime, Provider: config.ProviderOpenAI,
			Endpoint: up.URL + "/v1", Deployment: "gpt-realtime"}},
		Limits: config.Limits{ShutdownGrace: config.Duration(300 * time.Millisecond), RealtimeSessionsPerKey: 2},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/v1/realtime?model=gpt-realtime"
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- serveGateway(ctx, cfg, nil, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	}()

	rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // liveness bound; outlives the gateway
	defer cancel()
	dial := func() *websocket.Conn {
		t.Helper()
		c, resp, err := websocket.Dial(rctx, url, &websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key.sk-t"}})
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	read := func(c *websocket.Conn, want string) map[string]any {
		t.Helper()
		for {
			_, b, err := c.Read(rctx)
			if err != nil {
				t.Fatalf("read (waiting for %s): %v", want, err)
			}
			var ev map[string]any
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if ev["type"] == want {
				return ev
			}
		}
	}
	c := dial()
	read(c, "session.created")
	if err := c.Write(rctx, websocket.MessageText, []byte(`{"type":"response.create","response":{"output_modalities":["text"]}}`)); err != nil {
		t.Fatal(err)
	}
	usage := read(c, "response.done")["response"].(map[string]any)["usage"].(map[string]any)
	tokens := int64(usage["total_tokens"].(float64))
	c.Close(websocket.StatusNormalClosure, "")

	open := dial()
	read(open, "session.created")
	stop() // SIGTERM
	if ev := read(open, "error"); ev["error"].(map[string]any)["code"] != "gateway_shutdown" {
		t.Errorf("error event %v, want gateway_shutdown", ev)
	}
	if _, _, err := open.Read(rctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("close %v, want 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serveGateway = %v", err)
	}

	st, err := store.Open(context.Background(), "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.QueryUsage(context.Background(), store.UsageQuery{Model: "gpt-realtime"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("QueryUsage = %v, %v", rows, err)
	}
	// The response, the closed session (200) and the cut one (503).
	if got := rows[0]; got.Requests != 3 || got.Errors != 1 || got.TotalTokens != tokens {
		t.Errorf("stored usage %+v, want 3 records, 1 error, %d tokens", got, tokens)
	}
}
