package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
)

// TestMetricsAfterKnownTraffic sends known traffic through the whole stack
// and reads it back from /metrics.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	up := mock.New(mock.Options{Name: "up"})
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	cfg := &config.Config{
		Store:      "sqlite://" + filepath.Join(t.TempDir(), "spillway.db"),
		AdminToken: "sk-admin-test",
		Keys:       []config.Key{{Key: "sk-client", Name: "team-a"}},
		Deployments: []config.Deployment{{ID: "east", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: upSrv.URL, Deployment: "gpt-4o"}},
	}
	cfg.ApplyDefaults()
	a, err := newApp(context.Background(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.close(context.Background()); a.release() }()
	srv := httptest.NewServer(a.handler)
	defer srv.Close()

	post := func(body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sk-client")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		post(`{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hello there"}]}`)
	}
	post(`{"model":"gpt-4o","stream":true,"max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`)
	post(`{"model":"no-such-model","messages":[]}`)

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`spillway_requests_total{deployment="east",endpoint="chat",model="gpt-4o",status="200"} 4`,
		`spillway_requests_total{deployment="",endpoint="chat",model="unknown",status="404"} 1`,
		// 3 answers of 5 tokens and a stream of 4, all reported by the upstream.
		`spillway_tokens_total{deployment="east",direction="completion",key="static:team-a",model="gpt-4o"} 19`,
		`spillway_request_duration_seconds_count{endpoint="chat",model="gpt-4o"} 4`,
		`spillway_deployment_state{deployment="east",model="gpt-4o",state="serving"} 1`,
		`spillway_upstream_attempts_total{model="gpt-4o"} 4`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "spillway_") {
				t.Log(line)
			}
		}
	}
}
