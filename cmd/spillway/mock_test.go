package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/bench"
	"github.com/spillwayhq/spillway/internal/mock"
)

// TestMockTLS runs `spillway mock` with and without --tls-cert/--tls-key:
// a client that trusts the certificate and offers HTTP/2 by ALPN, as the
// gateway's transport does, gets HTTP/2 from the TLS mock and HTTP/1.1
// from the plain one, and /_mock/protocols counts what it served.
func TestMockTLS(t *testing.T) {
	certs, err := bench.NewUpstreamTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantScheme string
		wantProto  string
	}{
		{"plain", nil, "http", "HTTP/1.1"},
		{"tls", []string{"--tls-cert", certs.CertFile, "--tls-key", certs.KeyFile}, "https", "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, stop := startMock(t, tt.args)
			defer stop()
			if got := strings.SplitN(base, "://", 2)[0]; got != tt.wantScheme {
				t.Fatalf("mock printed %s: scheme %s, want %s", base, got, tt.wantScheme)
			}
			client := &http.Client{Transport: &http.Transport{
				ForceAttemptHTTP2: true,
				TLSClientConfig:   &tls.Config{RootCAs: certs.Pool},
			}}
			defer client.CloseIdleConnections()
			for range 3 {
				resp, err := client.Post(base+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "application/json",
					strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`))
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Proto != tt.wantProto {
					t.Fatalf("chat: status %d over %s, want 200 over %s", resp.StatusCode, resp.Proto, tt.wantProto)
				}
			}
			resp, err := client.Get(base + mock.ProtocolsPath)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got mock.ProtocolCounts
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Requests[tt.wantProto] != 3 || got.Connections[tt.wantProto] != 1 || len(got.Requests) != 1 {
				t.Errorf("%s: got %+v, want 3 %s requests on 1 connection", mock.ProtocolsPath, got, tt.wantProto)
			}
		})
	}
}

// startMock runs `spillway mock` with args on a free port until stop.
func startMock(t *testing.T, args []string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runMock(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &out, io.Discard)
	}()
	urlRe := regexp.MustCompile(`(?m)^(https?://\S+)$`)
	for {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("mock exited: %v; output %q", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mock: %v", err)
		}
	}
}

func TestMockTLSFlagsRefused(t *testing.T) {
	certs, err := bench.NewUpstreamTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert alone", []string{"--tls-cert", certs.CertFile}, "--tls-cert and --tls-key go together"},
		{"key alone", []string{"--tls-key", certs.KeyFile}, "--tls-cert and --tls-key go together"},
		{"not a certificate", []string{"--tls-cert", notPEM, "--tls-key", certs.KeyFile}, "--tls-cert, --tls-key:"},
		{"key of another certificate", []string{"--tls-cert", certs.CAFile, "--tls-key", certs.KeyFile}, "--tls-cert, --tls-key:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runMock(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, tt.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runMock(%q): error %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}
