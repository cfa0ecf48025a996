package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

// TestGracefulShutdown: when the signal comes, new connections are refused
// but a stream already under way runs to its end.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"last\"}}]}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()

	cfg := &config.Config{
		Store:       "sqlite://" + filepath.Join(t.TempDir(), "spillway.db"),
		Keys:        []config.Key{{Key: "sk-t", Name: "t"}},
		Deployments: []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: up.URL}},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveGateway(ctx, cfg, nil, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	}()

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[]}`))
	req.Header.Set("Authorization", "Bearer sk-t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first line = %q, %v", line, err)
	}

	stop() // SIGTERM
	// The listener closes: wait until a new connection is refused.
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("the stream in flight was cut: %v", err)
	}
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("rest = %q, want the stream to finish with [DONE]", rest)
	}
	if err := <-done; err != nil {
		t.Errorf("serveGateway = %v, want nil after a graceful stop", err)
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`deployments:
  - id: a
    model: gpt-4o
    class: openai-chatt
    provider: azure
    endpoint: http://127.0.0.1:1
  - id: a
    model: gpt-4o
    provider: azure
routing:
  cooldown: 30 seconds
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", bad}, &out, &errOut); code != 1 {
		t.Errorf("exit code = %d, want 1; stderr %s", code, errOut.String())
	}
	for _, want := range []string{"deployments[0].class", "deployments[1].id", "deployments[1].endpoint", "routing.cooldown"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output does not name %s:\n%s", want, out.String())
		}
	}

	good := filepath.Join("..", "..", "examples", "spillway.yaml")
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", good}, &out, &errOut); code != 0 {
		t.Errorf("check %s: exit code %d, want 0; output %s", good, code, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
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

// TestDemoWorksAsPrinted runs `spillway demo` and follows its own
// instructions: the printed base URL and key answer a chat request.
func TestDemoWorksAsPrinted(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--latency", "0", "--log-level", "warn"}, &out, io.Discard)
	}()
	urlRe := regexp.MustCompile(`Gateway:\s+(http://\S+)`)
	keyRe := regexp.MustCompile(`Client key:\s+(sk-\S+)`)
	var base, key string
	for base == "" || key == "" {
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d: %s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if m := keyRe.FindStringSubmatch(out.String()); m != nil {
			key = m[1]
		}
	}
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}`},
		{"/v1/embeddings", `{"model":"text-embedding-3-small","input":"Hello"}`},
		{"/v1/completions", `{"model":"gpt-35-turbo-instruct","prompt":"Hello"}`},
		{"/v1/images/generations", `{"model":"dall-e-3","prompt":"a lighthouse"}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, base+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d, body %s", tc.path, resp.StatusCode, b)
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("demo exit code after stop = %d, want 0", code)
	}
}

func TestBadLogFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--log-level", "verbose", "--listen", "127.0.0.1:0"},
		{"demo", "--log-format", "jsn", "--listen", "127.0.0.1:0"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 1 {
			t.Errorf("%q: exit code %d, want 1", args, code)
		}
		if !strings.Contains(errOut.String(), args[2]) {
			t.Errorf("%q: stderr %q does not name %s", args, errOut.String(), args[2])
		}
	}
}
