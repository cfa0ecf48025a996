package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// process is one `spillway serve` started from the test binary.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProcess runs `spillway serve --config cfg` on a free port and waits
// for it to serve. testenv stops it when the test ends, failed or not,
// and the kernel kills it if the test binary dies first.
func startProcess(t *testing.T, cfg string, env []string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), execMainEnv+"=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	// Registered before Start's cleanup, so it runs after the process has
	// stopped and its log is complete.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica %s log:\n%s", p.url, p.stderr.String())
		}
	})
	testenv.Start(t, cmd)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "serving on "); ok {
				addr <- strings.Fields(rest)[0]
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case u := <-addr:
		p.url = strings.TrimPrefix(u, "http://")
	case <-time.After(60 * time.Second):
		t.Fatalf("replica did not start:\n%s", p.stderr.String())
	}
	return p
}

// call sends a JSON request and returns the status and decoded body.
func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// eventually polls cond until it holds, failing after a generous deadline
// (a hung replica, not a slow one).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// urls returns the replicas' base URLs.
func urls(replicas []*process) []string {
	out := make([]string, len(replicas))
	for i, r := range replicas {
		out[i] = "http://" + r.url
	}
	return out
}

// burst sends n chat requests of model with key, spread round robin over
// the gateways at bases by `workers` concurrent clients, and counts the
// statuses.
func burst(t *testing.T, bases []string, key, model string, n, workers int) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	body := []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, bases[i%int64(len(bases))]+"/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return counts
}

// retryAfter sends one chat request of model with key to base and returns
// its status and Retry-After header.
func retryAfter(t *testing.T, base, key, model string) (int, string) {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestReplicasShareLimits is issue 4's multi-process test: three
// `spillway serve` processes, one Redis, one PostgreSQL. A key with rpm 60
// gets 60 requests in total across the three, an event's daily cap is one
// cap, and a deployment cooled down by a 429 on one replica is skipped by
// the others.
//
// The processes' clock stands still at 23:59:59.9 UTC (execClockEnv), a
// tenth of a second before both the minute and the day end: every burst
// falls in one rpm window and one day by construction, at whatever hour
// the test runs. TestLimitWindowsAcrossReplicas moves such a clock across
// the boundaries.
func TestReplicasShareLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	storeURL := postgresSchema(t)
	redisURL := testenv.Redis(t)
	// Today (UTC), a tenth of a second before midnight.
	frozen := time.Now().UTC().Truncate(24 * time.Hour).Add(24*time.Hour - 100*time.Millisecond)

	ok := httptest.NewServer(mock.New(mock.Options{Name: "ok"}))
	defer ok.Close()
	var coldHits atomic.Int64
	cold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coldHits.Add(1)
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"message":"Rate limit reached. Please retry after 120 seconds.","type":"rate_limit_error","code":"429"}}`))
	}))
	defer cold.Close()

	run := hex.EncodeToString([]byte(rand.Text())[:4])
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "spillway.yaml")
	cfg := fmt.Sprintf(`store: %q
redis: %q
admin_token: sk-admin-cluster
deployments:
  - {id: ok-%[3]s, model: gpt-4o-mini, class: openai-chat, provider: openai, endpoint: %[4]q, api_key: k}
  - {id: cold-%[3]s, model: flaky, class: openai-chat, provider: openai, endpoint: %[5]q, api_key: k, priority: 1}
  - {id: warm-%[3]s, model: flaky, class: openai-chat, provider: openai, endpoint: %[4]q, api_key: k, priority: 2}
`, storeURL, redisURL, run, ok.URL+"/v1", cold.URL+"/v1")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := []string{"SPILLWAY_SECRET_KEY=" + hex.EncodeToString(secret), execClockEnv + "=" + frozen.Format(time.RFC3339Nano)}

	// The first process migrates the schema; the others join it.
	replicas := []*process{startProcess(t, cfgPath, env)}
	for range 2 {
		replicas = append(replicas, startProcess(t, cfgPath, env))
	}
	const admin = "sk-admin-cluster"

	t.Run("key rpm is one limit", func(t *testing.T) {
		status, k := call(t, http.MethodPost, "http://"+replicas[0].url+"/admin/v1/keys", admin, map[string]any{"name": "shared", "rpm": 60})
		if status != http.StatusCreated {
			t.Fatalf("create key: %d %v", status, k)
		}
		key := k["key"].(string)
		for _, r := range replicas {
			eventually(t, "every replica knows the key", func() bool {
				s, _ := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				return s == http.StatusOK
			})
		}
		counts := burst(t, urls(replicas), key, "gpt-4o-mini", 150, 12)
		if got, want := counts[http.StatusOK], 60; got != want {
			t.Errorf("admitted %d of 150 across 3 replicas, want exactly %d (statuses %v)", got, want, counts)
		}
		if got, want := counts[http.StatusTooManyRequests], 90; got != want {
			t.Errorf("refused %d with 429, want %d (statuses %v)", got, want, counts)
		}
		// The refusal counts from the clock the replicas were given: the
		// minute ends a tenth of a second after it, which rounds up to 1 s.
		for _, r := range replicas {
			if s, after := retryAfter(t, "http://"+r.url, key, "gpt-4o-mini"); s != http.StatusTooManyRequests || after != "1" {
				t.Errorf("replica %s: status %d, Retry-After %q; want 429, 1", r.url, s, after)
			}
		}
	})

	t.Run("event daily cap is one cap", func(t *testing.T) {
		status, ev := call(t, http.MethodPost, "http://"+replicas[1].url+"/admin/v1/events", admin, map[string]any{
			"name": "Cluster hack", "start": frozen.Add(-time.Hour).Format(time.RFC3339), "end": frozen.Add(48 * time.Hour).Format(time.RFC3339),
			"time_zone": "UTC", "daily_request_cap": 10, "active": true, "shared_code": "let-me-in",
		})
		if status != http.StatusCreated {
			t.Fatalf("create event: %d %v", status, ev)
		}
		status, reg := call(t, http.MethodPost, "http://"+replicas[2].url+"/api/v1/attendee/event/"+ev["id"].(string)+"/register", "", map[string]any{
			"shared_code": "let-me-in", "attendee": "ann@example.com",
		})
		if status != http.StatusCreated {
			t.Fatalf("register: %d %v", status, reg)
		}
		key := reg["api_key"].(string)
		for _, r := range replicas {
			eventually(t, "every replica knows the attendee", func() bool {
				s, _ := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				return s == http.StatusOK
			})
		}
		counts := burst(t, urls(replicas), key, "gpt-4o-mini", 30, 6)
		if got, want := counts[http.StatusOK], 10; got != want {
			t.Errorf("admitted %d of 30 for a daily cap of 10 across 3 replicas, want exactly %d (statuses %v)", got, want, counts)
		}
	})

	t.Run("team rpm is one limit", func(t *testing.T) { testTeamRPMAcrossReplicas(t, replicas, admin, run) })

	t.Run("revocation reaches every replica", func(t *testing.T) {
		status, k := call(t, http.MethodPost, "http://"+replicas[0].url+"/admin/v1/keys", admin, map[string]any{"name": "doomed"})
		if status != http.StatusCreated {
			t.Fatalf("create key: %d %v", status, k)
		}
		key, id := k["key"].(string), k["id"].(string)
		for _, r := range replicas {
			eventually(t, "every replica knows the key", func() bool {
				s, _ := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				return s == http.StatusOK
			})
		}
		if s, body := call(t, http.MethodPost, "http://"+replicas[1].url+"/admin/v1/keys/"+id+"/revoke", admin, nil); s != http.StatusOK {
			t.Fatalf("revoke: %d %v", s, body)
		}
		revoked := time.Now()
		// Each replica polls the store every second; TestReplicaSyncOnePoll
		// shows one poll is enough. Here only liveness is waited for.
		for _, r := range replicas {
			eventually(t, "replica "+r.url+" refuses the revoked key", func() bool {
				s, body := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				e, _ := body["error"].(map[string]any)
				return s == http.StatusUnauthorized && e["code"] == "api_key_revoked"
			})
		}
		t.Logf("revocation refused on all 3 replicas after %v", time.Since(revoked).Round(time.Millisecond))
	})

	t.Run("cooldown seen on one replica is shared", func(t *testing.T) {
		status, k := call(t, http.MethodPost, "http://"+replicas[0].url+"/admin/v1/keys", admin, map[string]any{"name": "cooldown"})
		if status != http.StatusCreated {
			t.Fatalf("create key: %d %v", status, k)
		}
		key := k["key"].(string)
		for _, r := range replicas {
			eventually(t, "every replica knows the key", func() bool {
				s, _ := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				return s == http.StatusOK
			})
		}
		// Replica 0 meets the 429 and spills to the warm deployment.
		if counts := burst(t, urls(replicas[:1]), key, "flaky", 1, 1); counts[http.StatusOK] != 1 {
			t.Fatalf("first request on replica 0: statuses %v, want one 200", counts)
		}
		if got := coldHits.Load(); got != 1 {
			t.Fatalf("cold deployment hit %d times, want 1", got)
		}
		coldID := "cold-" + run
		for _, r := range replicas[1:] {
			eventually(t, "replica "+r.url+" sees the cooldown", func() bool {
				_, body := call(t, http.MethodGet, "http://"+r.url+"/admin/v1/routing", admin, nil)
				b, _ := json.Marshal(body)
				var rt struct {
					Data []struct {
						ID, State string
					} `json:"data"`
				}
				_ = json.Unmarshal(b, &rt)
				for _, d := range rt.Data {
					if d.ID == coldID {
						return d.State == "cooling"
					}
				}
				return false
			})
		}
		counts := burst(t, urls(replicas[1:]), key, "flaky", 10, 2)
		if counts[http.StatusOK] != 10 {
			t.Errorf("requests on replicas 1 and 2: statuses %v, want ten 200s", counts)
		}
		if got := coldHits.Load(); got != 1 {
			t.Errorf("cold deployment hit %d times in all, want 1: the other replicas should skip it", got)
		}
	})
}
