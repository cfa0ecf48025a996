package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spillwayhq/spillway/internal/mock"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name        string
		status      string
		rss         int64
		threads     int
		wantFailure bool
	}{
		{"both", "Name:\tspillway\nVmHWM:\t  9000 kB\nVmRSS:\t  8192 kB\nThreads:\t7\n", 8192 << 10, 7, false},
		{"no threads line", "VmRSS:\t 1 kB\n", 1 << 10, 0, false},
		{"no VmRSS", "VmHWM:\t 1 kB\n", 0, 0, true},
		{"bad unit", "VmRSS:\t 1 MB\n", 0, 0, true},
		{"negative", "VmRSS:\t -1 kB\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, threads, err := ParseVmRSS(tt.status)
			if got := err != nil; got != tt.wantFailure {
				t.Fatalf("error = %v, want failure %v", err, tt.wantFailure)
			}
			if rss != tt.rss || threads != tt.threads {
				t.Errorf("ParseVmRSS = %d, %d; want %d, %d", rss, threads, tt.rss, tt.threads)
			}
		})
	}
}

// TestHoldStreams holds streams open against a server that sends one event
// and then waits for the client to leave: every stream is open at the
// sample, and every handler sees its client go when the run ends.
func TestHoldStreams(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc")
	}
	var left atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Once the body is read, net/http watches the connection and
		// ends the context when the client goes.
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {}\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		left.Add(1)
	}))
	defer srv.Close()
	const n = 50
	res, err := HoldStreams(context.Background(), Target{Name: "test", URL: srv.URL, Body: []byte(`{}`), Header: http.Header{}}, os.Getpid(), StreamsOptions{Streams: n, Dialers: 8, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != n || res.Failed != 0 {
		t.Fatalf("Open, Failed = %d, %d; want %d, 0 (errors %v)", res.Open, res.Failed, n, res.ErrorSamples)
	}
	if res.IdleRSS <= 0 || res.HeldRSS <= 0 || res.Threads < 1 {
		t.Errorf("RSS %d -> %d, threads %d: want positive", res.IdleRSS, res.HeldRSS, res.Threads)
	}
	srv.Close() // waits for the handlers
	if got := left.Load(); got != n {
		t.Errorf("handlers that saw the client leave = %d, want %d", got, n)
	}
}

// TestHoldStreamsRefused: streams the target refuses are counted as
// failed, with the reason.
func TestHoldStreamsRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	res, err := HoldStreams(context.Background(), Target{Name: "test", URL: srv.URL, Header: http.Header{}}, os.Getpid(), StreamsOptions{Streams: 5, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != 0 || res.Failed != 5 {
		t.Fatalf("Open, Failed = %d, %d; want 0, 5", res.Open, res.Failed)
	}
	if len(res.ErrorSamples) != 1 || !strings.Contains(res.ErrorSamples[0], "status 429") {
		t.Errorf("ErrorSamples = %q, want one naming status 429", res.ErrorSamples)
	}
}

// TestStreamsThroughSpawned holds a few streams against the bare proxy and
// the gateway that Spawn starts (this test binary acting as spillway), the
// mock serving plain HTTP or HTTPS: over HTTPS both must trust the run's
// throwaway authority and speak HTTP/2 to the mock, every stream on a
// shared connection; over HTTP each stream has an HTTP/1.1 connection.
func TestStreamsThroughSpawned(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc")
	}
	t.Setenv(fakeSpillwayEnv, "1")
	const n = 6
	tests := []struct {
		name      string
		tls       bool
		wantProto string
		wantConns func(int64) bool
		wantText  string
	}{
		{"plain", false, "HTTP/1.1", func(c int64) bool { return c == n }, "HTTP/1.1 6 req on 6 conn"},
		{"tls", true, "HTTP/2.0", func(c int64) bool { return c >= 1 && c < n }, "HTTP/2.0 6 req on "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := shortConfig()
			cfg.MaxTokens = 4096
			var log bytes.Buffer
			sp, err := Spawn(context.Background(), SpawnOptions{
				Exe: testExe(t), Concurrency: 4, MockTPS: 20,
				Model: cfg.Model, Key: cfg.Key, UpstreamKey: cfg.UpstreamKey,
				UpstreamTLS: tt.tls, Log: &log,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Stop()
			if got, want := strings.HasPrefix(sp.Mock, "https://"), tt.tls; got != want {
				t.Errorf("mock URL %s: https %v, want %v", sp.Mock, got, want)
			}
			pids := map[string]int{TargetProxy: sp.ProxyPID, TargetGateway: sp.GatewayPID}
			targets := cfg.StreamTargets(sp.Endpoints)
			if len(targets) != 2 {
				t.Fatalf("stream targets: got %d, want 2", len(targets))
			}
			for _, target := range targets {
				before, err := sp.UpstreamProtocols(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				res, err := HoldStreams(context.Background(), target, pids[target.Name], StreamsOptions{Streams: n, Dialers: n, Settle: 1})
				if err != nil {
					t.Fatal(err)
				}
				if res.Open != n || res.Failed != 0 {
					t.Fatalf("%s: Open, Failed = %d, %d; want %d, 0 (errors %v)\n%s", target.Name, res.Open, res.Failed, n, res.ErrorSamples, sp.Stderr())
				}
				after, err := sp.UpstreamProtocols(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				d := after.Sub(before)
				if got := d.Requests[tt.wantProto]; got != n {
					t.Errorf("%s: %s requests to the mock = %d, want %d (all: %v)", target.Name, tt.wantProto, got, n, d)
				}
				if got := d.Connections[tt.wantProto]; !tt.wantConns(got) {
					t.Errorf("%s: %s connections to the mock = %d for %d streams", target.Name, tt.wantProto, got, n)
				}
				if got := protocolsText(&d); !strings.HasPrefix(got, tt.wantText) {
					t.Errorf("%s: protocolsText = %q, want it to start %q", target.Name, got, tt.wantText)
				}
			}
			if err := sp.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestUpstreamTLSNeedsOwnMock: a running upstream cannot be given the
// run's certificate.
func TestUpstreamTLSNeedsOwnMock(t *testing.T) {
	_, err := Spawn(context.Background(), SpawnOptions{Exe: testExe(t), Upstream: "http://127.0.0.1:1", UpstreamTLS: true})
	if err == nil || !strings.Contains(err.Error(), "--upstream-tls") {
		t.Errorf("Spawn with Upstream and UpstreamTLS: error %v, want one naming --upstream-tls", err)
	}
}

// TestNewUpstreamTLS: the server certificate verifies against the
// authority for the names the mock is reached by, and the key matches.
func TestNewUpstreamTLS(t *testing.T) {
	u, err := NewUpstreamTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(u.CertFile, u.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: u.Pool, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), DNSName: "127.0.0.1"}); err == nil {
		t.Errorf("verify without the authority: no error")
	}
	env := strings.Join(u.Env(), " ")
	if want := "SSL_CERT_FILE=" + u.CAFile; !strings.Contains(env, want) {
		t.Errorf("Env = %q, want it to hold %q", env, want)
	}
}

func TestProtocolsText(t *testing.T) {
	tests := []struct {
		name string
		c    *mock.ProtocolCounts
		want string
	}{
		{"unknown", nil, "unknown"},
		{"none", &mock.ProtocolCounts{}, "none"},
		{"http/1.1", &mock.ProtocolCounts{Connections: map[string]int64{"HTTP/1.1": 40}, Requests: map[string]int64{"HTTP/1.1": 40}, Accepted: 40}, "HTTP/1.1 40 req on 40 conn"},
		{"h2 with dropped dials", &mock.ProtocolCounts{Connections: map[string]int64{"HTTP/2.0": 2}, Requests: map[string]int64{"HTTP/2.0": 300}, Accepted: 130}, "HTTP/2.0 300 req on 2 conn, 128 more accepted unused"},
		{"both", &mock.ProtocolCounts{Connections: map[string]int64{"HTTP/2.0": 1, "HTTP/1.1": 1}, Requests: map[string]int64{"HTTP/2.0": 3, "HTTP/1.1": 2}, Accepted: 2}, "HTTP/1.1 2 req on 1 conn, HTTP/2.0 3 req on 1 conn"},
	}
	for _, tt := range tests {
		if got := protocolsText(tt.c); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
