package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
)

// TestUsageEndToEnd: traffic through the gateway is written by the usage
// writer and read back from /admin/v1/usage, streaming included.
func TestUsageEndToEnd(t *testing.T) {
	up := httptest.NewServer(mock.New(mock.Options{Name: "up"}))
	defer up.Close()
	dir := t.TempDir()
	cfg := &config.Config{
		Store:      "sqlite://" + filepath.Join(dir, "spillway.db"),
		AdminToken: "sk-admin-test",
		Keys:       []config.Key{{Key: "sk-client", Name: "team-a"}},
		Deployments: []config.Deployment{{ID: "east", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: up.URL, Deployment: "gpt-4o"}},
	}
	cfg.ApplyDefaults()
	ctx := context.Background()
	a, err := newApp(ctx, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	bg, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.usage.Run(bg) }()

	do := func(method, path, key, body string) string {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for range 2 {
		do(http.MethodPost, "/v1/chat/completions", "sk-client", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hello"}]}`)
	}
	stream := do(http.MethodPost, "/v1/chat/completions", "sk-client", `{"model":"gpt-4o","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hello"}]}`)
	if strings.Contains(stream, `"usage":{`) {
		t.Errorf("the client stream carries a usage event it did not ask for")
	}
	do(http.MethodPost, "/v1/chat/completions", "sk-wrong", `{"model":"gpt-4o"}`)

	// The gateway records after the response is written, so the client can
	// be done first: wait for the four records, as shutdown does by
	// draining the server before closing the writer.
	giveUp := time.Now().Add(10 * time.Second) // liveness bound
	for {
		st := a.usage.Stats()
		if st.Queued+st.Written+st.Spilled+st.Dropped >= 4 {
			break
		}
		if time.Now().After(giveUp) {
			t.Fatalf("the writer saw %+v, want 4 records", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Closing the writer flushes every queued record.
	if err := a.usage.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	var got struct {
		Data []struct {
			Group            string  `json:"group"`
			Requests         int64   `json:"requests"`
			Errors           int64   `json:"errors"`
			CompletionTokens int64   `json:"completion_tokens"`
			Cost             float64 `json:"cost"`
		} `json:"data"`
	}
	body := do(http.MethodGet, "/admin/v1/usage?group_by=key", "sk-admin-test", "")
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("usage: %v: %s", err, body)
	}
	byKey := map[string]int{}
	for i, row := range got.Data {
		byKey[row.Group] = i
	}
	i, ok := byKey["static:team-a"]
	if !ok {
		t.Fatalf("usage %s has no row for static:team-a", body)
	}
	row := got.Data[i]
	if row.Requests != 3 || row.Errors != 0 || row.CompletionTokens != 5+5+3 || row.Cost <= 0 {
		t.Errorf("team-a usage = %+v, want 3 requests, 13 completion tokens, a cost", row)
	}
	if j, ok := byKey[""]; !ok || got.Data[j].Errors != 1 {
		t.Errorf("usage %s, want the rejected request recorded as an error without a key", body)
	}
	a.close(ctx)
	a.release()
}
