package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/store"
)

// runDemo starts two simulated Azure OpenAI resources in-process and the
// gateway in front of them, with a fresh client key, so a newcomer sees it
// work in one command with nothing else installed.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", config.DefaultListen, "gateway listen address")
	latency := fs.Duration("latency", 50*time.Millisecond, "simulated upstream latency before the first byte")
	tps := fs.Float64("tokens-per-second", 40, "simulated streaming speed")
	data := fs.String("data", "", "directory for the demo's SQLite database and secret key (default: a fresh temporary directory)")
	logf := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logf.logger(stderr)
	if err != nil {
		return err
	}

	var upstreams [2]string
	for i := range upstreams {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mock.New(mock.Options{Name: fmt.Sprintf("eastus-%d", i+1), Latency: *latency, TokensPerSecond: *tps}), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		upstreams[i] = "http://" + ln.Addr().String()
	}

	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "spillway-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	// --data may name a directory that does not exist yet.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	secretKey, err := demoSecretKey(dir)
	if err != nil {
		return err
	}
	key := "sk-demo-" + randomHex(16)
	adminToken := "sk-admin-demo-" + randomHex(16)
	cfg := demoConfig(upstreams, key)
	cfg.Listen = *listen
	cfg.Store = "sqlite://" + filepath.Join(dir, "spillway.db")
	cfg.AdminToken = config.Secret(adminToken)
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w (is another spillway running? try --listen 127.0.0.1:4001)", err)
	}
	err = serveGateway(ctx, cfg, secretKey, ln, log, nil, func(addr string) {
		base := "http://" + reachable(addr)
		ev, err := setUpDemoEvent(ctx, base, adminToken)
		if err != nil {
			log.Error("demo event not created; the rest of the demo works", "err", err)
		}
		fmt.Fprintf(stdout, `Spillway demo is running.

  Playground: %[1]s/   (open it in a browser; sign in with a key below)
  Admin:      %[1]s/admin/   (sign in with the admin token below)
  Gateway:    %[1]s   (OpenAI base URL: %[1]s/v1)
  Client key: %[2]s
%[7]s  Admin token: %[5]s   (management API: %[1]s/admin/v1/deployments)
  Upstreams:  two simulated Azure OpenAI resources at %[3]s and %[4]s
  Data:       %[6]s
  Models:     gpt-4o (round robin over both), o4-mini, gpt-35-turbo-instruct, text-embedding-3-small,
              dall-e-3, gpt-4o-transcribe, gpt-4o-mini-tts

Try it:
  curl -s %[1]s/v1/chat/completions -H "Authorization: Bearer %[2]s" \
    -H "Content-Type: application/json" \
    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'
  curl -s %[1]s/v1/responses -H "Authorization: Bearer %[2]s" \
    -H "Content-Type: application/json" -d '{"model":"o4-mini","input":"Hello"}'

Press Ctrl-C to stop.
`, base, key, upstreams[0], upstreams[1], adminToken, dir, ev.lines())
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// reachable turns a listener's address into one a browser on the same
// host can open: a wildcard host (--listen 0.0.0.0:4000, as in a
// container) prints as 127.0.0.1 rather than [::].
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func demoConfig(upstreams [2]string, key string) *config.Config {
	dep := func(id, model, class, endpoint string) config.Deployment {
		return config.Deployment{ID: id, Model: model, Class: class, Provider: config.ProviderAzure, Endpoint: endpoint, Deployment: model, APIKey: "demo-upstream-key"}
	}
	return &config.Config{
		Keys: []config.Key{{Key: config.Secret(key), Name: "demo"}},
		Deployments: []config.Deployment{
			dep("gpt4o-eastus-1", "gpt-4o", config.ClassChat, upstreams[0]),
			dep("gpt4o-eastus-2", "gpt-4o", config.ClassChat, upstreams[1]),
			dep("instruct-eastus-1", "gpt-35-turbo-instruct", config.ClassCompletions, upstreams[0]),
			dep("embed-eastus-1", "text-embedding-3-small", config.ClassEmbeddings, upstreams[0]),
			dep("embed-eastus-2", "text-embedding-3-small", config.ClassEmbeddings, upstreams[1]),
			dep("dalle3-eastus-1", "dall-e-3", config.ClassImages, upstreams[1]),
			// A reasoning model for the Responses API, and the audio models.
			dep("o4mini-eastus-1", "o4-mini", config.ClassChat, upstreams[0]),
			dep("transcribe-eastus-1", "gpt-4o-transcribe", config.ClassAudio, upstreams[0]),
			dep("tts-eastus-2", "gpt-4o-mini-tts", config.ClassAudio, upstreams[1]),
			// Realtime sessions, failing over between the two upstreams.
			dep("realtime-eastus-1", "gpt-realtime", config.ClassRealtime, upstreams[0]),
			dep("realtime-eastus-2", "gpt-realtime", config.ClassRealtime, upstreams[1]),
		},
	}
}

// demoSecretKey reads the demo's encryption key from dir, or makes one.
func demoSecretKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		return store.ParseSecretKey(strings.TrimSpace(string(b)))
	}
	k := randomHex(32)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo secret key: %w", err)
	}
	return store.ParseSecretKey(k)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
