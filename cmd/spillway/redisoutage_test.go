package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// privateRedis starts a redis-server of the test's own on a free port, so
// it can be stopped and started again without touching the shared one.
// The returned func restarts it after stop.
func privateRedis(t *testing.T) (addr string, stop, start func()) {
	t.Helper()
	bin := testenv.RedisServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	var server *testenv.Process
	start = func() {
		// testenv stops it when the test ends, and has the kernel kill it
		// if the test binary dies first.
		server = testenv.Start(t, exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()))
		eventually(t, "redis-server to listen", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	stop = func() { server.Kill() }
	start()
	return addr, stop, start
}

// TestRedisOutage: when Redis goes away the gateway keeps serving with
// local limits, logs it once, shows it on /health/readiness and
// spillway_redis_up, and rejoins when Redis returns.
func TestRedisOutage(t *testing.T) {
	addr, stopRedis, startRedis := privateRedis(t)
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()

	logs := &lockedBuffer{}
	cfg := &config.Config{
		Store: "sqlite://" + filepath.Join(t.TempDir(), "s.db"),
		Redis: "redis://" + addr + "/0",
		Keys:  []config.Key{{Key: "sk-client", Name: "client"}},
		Deployments: []config.Deployment{
			{ID: "d1", Model: "gpt-4o-mini", Class: "openai-chat", Provider: "openai", Endpoint: up.URL + "/v1", APIKey: "k", RPM: 1000},
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
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveGateway(ctx, cfg, make([]byte, 32), ln, slog.New(slog.NewTextHandler(logs, nil)), nil, nil)
	}()
	defer func() { cancel(); <-done }()

	chat := func() int {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-client")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	redisState := func() string {
		_, body := call(t, http.MethodGet, base+"/health/readiness", "", nil)
		s, _ := body["redis"].(string)
		return s
	}
	redisUp := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "spillway_redis_up ") {
				return strings.TrimSpace(strings.TrimPrefix(line, "spillway_redis_up "))
			}
		}
		return "absent"
	}

	eventually(t, "gateway up", func() bool { return chat() == http.StatusOK })
	eventually(t, "redis connected", func() bool { return redisState() == "connected" && redisUp() == "1" })

	stopRedis()
	for i := range 20 {
		if got := chat(); got != http.StatusOK {
			t.Fatalf("request %d with Redis down: status %d, want 200", i, got)
		}
	}
	eventually(t, "readiness reports the outage", func() bool { return strings.HasPrefix(redisState(), "unreachable") && redisUp() == "0" })
	if code, _ := call(t, http.MethodGet, base+"/health/readiness", "", nil); code != http.StatusOK {
		t.Errorf("readiness during a Redis outage: %d, want 200 (the replica serves on)", code)
	}

	startRedis()
	// Health recovers without any traffic to notice it.
	eventually(t, "gateway rejoins Redis", func() bool { return redisState() == "connected" && redisUp() == "1" })
	// And the limits are counted in Redis again.
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	eventually(t, "deployment rpm counted in Redis again", func() bool {
		if got := chat(); got != http.StatusOK {
			t.Fatalf("request after Redis returned: %d, want 200", got)
		}
		keys, err := rc.Keys(context.Background(), "spillway:limits:{l}deployment:rpm:d1:*").Result()
		return err == nil && len(keys) > 0
	})
	if n := strings.Count(logs.String(), "redis unreachable"); n != 1 {
		t.Errorf("Redis outage logged %d times, want once:\n%s", n, logs.String())
	}
}
