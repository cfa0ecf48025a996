package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
)

// fakeSpillwayEnv makes this test binary act as the spillway binary (mock,
// serve, bench --proxy-only) so that Spawn can be tested without building it.
const fakeSpillwayEnv = "SPILLWAY_BENCH_TEST_FAKE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeSpillwayEnv) == "1" {
		os.Exit(fakeSpillway(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// fakeSpillway is a stand-in for cmd/spillway with the same command lines
// and the same "listening" lines on stdout.
func fakeSpillway(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		args = []string{""}
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "")
	upstream := fs.String("upstream", "", "")
	cfgPath := fs.String("config", "", "")
	fs.Bool("proxy-only", false, "")
	fs.Int("concurrency", 4, "")
	fs.Duration("latency", 0, "")
	tps := fs.Float64("tokens-per-second", 0, "")
	fs.String("log-level", "", "")
	tlsCert := fs.String("tls-cert", "", "")
	tlsKey := fs.String("tls-key", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	serve := func(h http.Handler, line string) int {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		fmt.Printf(line+"\n", ln.Addr())
		<-ctx.Done()
		_ = srv.Close()
		return 0
	}
	switch args[0] {
	case "mock":
		// As spillway mock serves, with --tls-cert and --tls-key or not.
		m := mock.CountProtocols(mock.New(mock.Options{TokensPerSecond: *tps}))
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		srv := &http.Server{Handler: m, ConnContext: m.ConnContext}
		if *tlsCert == "" {
			go func() { _ = srv.Serve(ln) }()
			fmt.Printf("mock: listening on http://%s\n", ln.Addr())
		} else {
			go func() { _ = srv.ServeTLS(ln, *tlsCert, *tlsKey) }()
			fmt.Printf("mock: listening on https://%s\n", ln.Addr())
		}
		<-ctx.Done()
		_ = srv.Close()
		return 0
	case "bench":
		err := ServeProxy(ctx, *upstream, *listen, 4, func(addr string) {
			fmt.Printf("spillway bench: bare proxy on http://%s -> %s\n", addr, *upstream)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "serve":
		cfg, err := config.Load(*cfgPath)
		if err == nil {
			cfg.ApplyDefaults()
			err = cfg.Validate()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		d := cfg.Deployments[0]
		u, err := url.Parse(d.BaseURL())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return serve(fakeGateway(u, cfg.Keys[0].Key.Value(), d.Deployment, d.APIKey.Value()), "admin portal at http://%[1]s/admin\nspillway: serving on http://%[1]s (1 deployments, 1 client keys)")
	case "silent":
		<-ctx.Done()
		return 0
	}
	fmt.Fprintf(os.Stderr, "no such fake command %q\n", args[0])
	return 2
}

// fakeGateway stands in for the gateway: it checks the client key and
// forwards /v1/chat/completions to the Azure path of deployment.
func fakeGateway(upstream *url.URL, key, deployment, upstreamKey string) http.Handler {
	rp := NewProxy(upstream, 16, log.New(os.Stderr, "fake gateway: ", 0))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
			return
		}
		switch r.URL.Path {
		case "/v1/chat/completions":
			r.URL.Path = "/openai/deployments/" + deployment + "/chat/completions"
			r.URL.RawQuery = "api-version=" + DefaultAPIVersion
		case "/v1/responses":
			// The bench's model and deployment are one name here.
			r.URL.Path = "/openai/v1/responses"
		default:
			http.NotFound(w, r)
			return
		}
		r.Header.Del("Authorization")
		r.Header.Set("Api-Key", upstreamKey)
		rp.ServeHTTP(w, r)
	})
}

func shortConfig() Config {
	return Config{
		Concurrency: 4,
		Duration:    300 * time.Millisecond,
		Warmup:      100 * time.Millisecond,
		Scenarios:   []string{ScenarioChat, ScenarioStream, ScenarioResponses},
		Model:       "gpt-4o",
		Key:         "sk-bench",
		UpstreamKey: "bench-upstream-key",
		MaxTokens:   16,
	}
}

// spawn starts o's processes as this test binary's fakes (or nginx), with
// cfg's model and keys, stops them when t ends, and logs what they wrote
// if t failed.
func spawn(t *testing.T, cfg Config, o SpawnOptions) *Spawned {
	t.Helper()
	t.Setenv(fakeSpillwayEnv, "1")
	var log bytes.Buffer
	o.Exe, o.Log = testExe(t), &log
	o.Model, o.Key, o.UpstreamKey = cfg.Model, cfg.Key, cfg.UpstreamKey
	if o.Concurrency == 0 {
		o.Concurrency = cfg.Concurrency
	}
	sp, err := Spawn(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bench log:\n%s\n%s", log.String(), sp.Stderr())
		}
		sp.Stop()
	})
	return sp
}

// runClean runs cfg against ep and fails t unless every request succeeded.
func runClean(t *testing.T, cfg Config, ep Endpoints) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg, ep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Fatalf("the run saw errors:\n%s", b.String())
	}
	return rep
}

// checkReport asserts a clean run with every row and line present.
func checkReport(t *testing.T, rep *Report, wantRSS bool) {
	t.Helper()
	if rep.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Fatalf("the run saw errors:\n%s", b.String())
	}
	if got, want := len(rep.Scenarios), 3; got != want {
		t.Fatalf("scenarios: got %d, want %d", got, want)
	}
	for _, s := range rep.Scenarios {
		var names []string
		for _, r := range s.Results {
			names = append(names, r.Target)
			if r.Requests <= 0 || r.RPS <= 0 || r.P50 <= 0 || r.P99 < r.P50 {
				t.Errorf("%s/%s: got %d requests, %.0f req/s, p50 %v, p99 %v; want counts > 0 and p99 >= p50 > 0", s.Name, r.Target, r.Requests, r.RPS, r.P50, r.P99)
			}
			if s.Stream && (r.TTFBP50 <= 0 || r.TTFBP50 > r.P99) {
				t.Errorf("%s/%s: ttfb p50 %v, want > 0 and <= p99 %v", s.Name, r.Target, r.TTFBP50, r.P99)
			}
		}
		if got, want := strings.Join(names, ","), "mock,bare-proxy,gateway"; got != want {
			t.Errorf("%s rows: got %s, want %s", s.Name, got, want)
		}
		if wantRSS && s.GatewayPeakRSS <= 0 {
			t.Errorf("%s gateway peak RSS: got %d, want > 0", s.Name, s.GatewayPeakRSS)
		}
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"scenario: chat (4 concurrent, 300ms each, mock latency 0)\n",
		"scenario: stream (4 concurrent, 300ms each, mock latency 0, unpaced stream)\n",
		"scenario: responses (4 concurrent, 300ms each, mock latency 0)\n",
		"\nmock ", "\nbare-proxy ", "\ngateway ",
		"gateway/bare-proxy throughput: ", "added latency vs bare proxy p50: ",
		"gateway peak RSS: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report:\n%s\nwant it to contain %q", text, want)
		}
	}
	if strings.Contains(text, "ERRORS") {
		t.Errorf("report of a clean run mentions errors:\n%s", text)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("WriteJSON: err %v, valid %v", err, json.Valid(js.Bytes()))
	}
}

// TestRunInProcess runs the whole engine against in-process servers: the
// mock, the bare proxy in front of it, and a trivial gateway stand-in.
func TestRunInProcess(t *testing.T) {
	m := httptest.NewServer(mock.New(mock.Options{RequireKey: "bench-upstream-key"}))
	defer m.Close()
	mu, _ := url.Parse(m.URL)
	p := httptest.NewServer(NewProxy(mu, 8, nil))
	defer p.Close()
	gw := httptest.NewServer(fakeGateway(mu, "sk-bench", "gpt-4o", "bench-upstream-key"))
	defer gw.Close()

	var progress bytes.Buffer
	cfg := shortConfig()
	cfg.Progress = &progress
	rep, err := Run(context.Background(), cfg, Endpoints{Mock: m.URL, Proxy: p.URL, Gateway: gw.URL})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, false)
	if got := strings.Count(progress.String(), "\n"); got != 9 {
		t.Errorf("progress: got %d lines, want 9 (3 scenarios x 3 targets):\n%s", got, progress.String())
	}
}

// TestRunCountsFailures checks that non-2xx answers and cut streams are
// counted, not timed.
func TestRunCountsFailures(t *testing.T) {
	m := httptest.NewServer(mock.New(mock.Options{}))
	defer m.Close()
	mu, _ := url.Parse(m.URL)
	gw := httptest.NewServer(fakeGateway(mu, "another-key", "gpt-4o", ""))
	defer gw.Close()
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
	}))
	defer cut.Close()

	cfg := shortConfig()
	cfg.Warmup = 0
	cfg.Duration = 100 * time.Millisecond
	rep, err := Run(context.Background(), cfg, Endpoints{Gateway: gw.URL, Proxy: cut.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() {
		t.Fatal("Failed() = false, want true")
	}
	chatGW, _ := rep.Scenarios[0].Result(TargetGateway)
	if chatGW.Non2xx == 0 || chatGW.Statuses[401] != chatGW.Non2xx || chatGW.Requests != 0 {
		t.Errorf("gateway with a wrong key: got %d non-2xx (%v), %d ok; want only 401s", chatGW.Non2xx, chatGW.Statuses, chatGW.Requests)
	}
	if len(chatGW.ErrorSamples) == 0 || !strings.Contains(chatGW.ErrorSamples[0], "HTTP 401: {\"error\"") {
		t.Errorf("gateway error samples: got %q, want the 401 body", chatGW.ErrorSamples)
	}
	streamCut, _ := rep.Scenarios[1].Result(TargetProxy)
	if streamCut.Errors == 0 || streamCut.Requests != 0 || !strings.Contains(streamCut.ErrorSamples[0], "without data: [DONE]") {
		t.Errorf("stream without [DONE]: got %d errors, %d ok, samples %q; want only errors naming [DONE]", streamCut.Errors, streamCut.Requests, streamCut.ErrorSamples)
	}
}

func TestRunCancelled(t *testing.T) {
	m := httptest.NewServer(mock.New(mock.Options{}))
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cfg := shortConfig()
	cfg.Duration = time.Hour
	_, err := Run(ctx, cfg, Endpoints{Mock: m.URL})
	if err != context.DeadlineExceeded {
		t.Errorf("Run with a context that ends: got %v, want context.DeadlineExceeded", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	ep := Endpoints{Mock: "http://127.0.0.1:1"}
	for name, mod := range map[string]func(*Config){
		"no concurrency":       func(c *Config) { c.Concurrency = 0 },
		"too much concurrency": func(c *Config) { c.Concurrency = 1 << 20 },
		"no duration":          func(c *Config) { c.Duration = 0 },
		"no scenario":          func(c *Config) { c.Scenarios = nil },
		"bad scenario":         func(c *Config) { c.Scenarios = []string{"images"} },
		"no model":             func(c *Config) { c.Model = "" },
		"no max tokens":        func(c *Config) { c.MaxTokens = 0 },
	} {
		cfg := shortConfig()
		mod(&cfg)
		if _, err := Run(context.Background(), cfg, ep); err == nil {
			t.Errorf("%s: Run returned no error", name)
		}
	}
	if _, err := Run(context.Background(), shortConfig(), Endpoints{}); err == nil {
		t.Errorf("no endpoints: Run returned no error")
	}
}

// TestSpawnAndRun starts the targets as processes (this test binary acting
// as spillway), measures them, and checks they are gone afterwards.
func TestSpawnAndRun(t *testing.T) {
	t.Setenv(fakeSpillwayEnv, "1")
	cfg := shortConfig()
	var log bytes.Buffer
	sp, err := Spawn(context.Background(), SpawnOptions{
		Exe:         testExe(t),
		Concurrency: cfg.Concurrency,
		Model:       cfg.Model,
		Key:         cfg.Key,
		UpstreamKey: cfg.UpstreamKey,
		Log:         &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sp.Stop()
		if t.Failed() {
			t.Logf("bench log:\n%s\n%s", log.String(), sp.Stderr())
		}
	}()
	children := append([]*child(nil), sp.children...)
	if len(children) != 3 {
		t.Fatalf("Spawn started %d processes, want 3:\n%s", len(children), log.String())
	}
	rep, err := Run(context.Background(), cfg, sp.Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Check(); err != nil {
		t.Errorf("Check after the run: %v", err)
	}
	checkReport(t, rep, runtimeHasProc())
	dir := sp.dir
	sp.Stop()
	for _, c := range children {
		if !c.exited() {
			t.Errorf("after Stop: %s (pid %d) still running", c.name, c.pid())
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Stop: temporary directory %s: got %v, want it removed", dir, err)
	}
	sp.Stop() // twice is fine
}

func TestSpawnExternalTargets(t *testing.T) {
	t.Setenv(fakeSpillwayEnv, "1")
	m := httptest.NewServer(mock.New(mock.Options{}))
	defer m.Close()
	sp, err := Spawn(context.Background(), SpawnOptions{
		Exe: testExe(t), Upstream: m.URL, Gateway: "http://127.0.0.1:4000/", Concurrency: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Stop()
	if len(sp.children) != 1 || sp.children[0].name != "bare proxy" {
		t.Errorf("with --upstream and --gateway: started %d processes, want only the bare proxy", len(sp.children))
	}
	if sp.Mock != m.URL || sp.Gateway != "http://127.0.0.1:4000" || sp.GatewayRSS != nil {
		t.Errorf("endpoints: got mock %q gateway %q rss %v; want %q, http://127.0.0.1:4000, nil", sp.Mock, sp.Gateway, sp.GatewayRSS != nil, m.URL)
	}
	if _, err := Spawn(context.Background(), SpawnOptions{Exe: testExe(t), Upstream: "127.0.0.1:1"}); err == nil {
		t.Errorf("Spawn with an upstream that is not a URL: no error")
	}
}

func TestGatewayConfigIsValid(t *testing.T) {
	tests := []struct{ model, deployment, key string }{
		{"gpt-4o", "", "sk-bench"},
		{"gpt-4o-mini", "mini-dep", `sk-"quoted"`},
	}
	for _, tt := range tests {
		cfg, err := config.Parse(GatewayConfig("http://127.0.0.1:9999", tt.model, tt.deployment, tt.key, "upkey"), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("GatewayConfig(%q): parse: %v", tt.model, err)
		}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("GatewayConfig(%q): %v", tt.model, err)
		}
		wantDep := tt.deployment
		if wantDep == "" {
			wantDep = tt.model
		}
		d := cfg.Deployments[0]
		if d.Model != tt.model || d.Deployment != wantDep || d.BaseURL() != "http://127.0.0.1:9999" || cfg.Keys[0].Key.Value() != tt.key {
			t.Errorf("GatewayConfig(%q, %q, %q): got model %q deployment %q endpoint %q key %q", tt.model, tt.deployment, tt.key, d.Model, d.Deployment, d.BaseURL(), cfg.Keys[0].Key.Value())
		}
	}
}

func runtimeHasProc() bool {
	_, err := os.Stat("/proc/self/status")
	return err == nil
}
