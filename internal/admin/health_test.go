package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
)

// coolingRouter returns a router over three deployments, the first of
// which answered a 429 at now and cools down for 30s.
func coolingRouter(t *testing.T, now time.Time) (*router.Router, []config.Deployment) {
	t.Helper()
	file := fileDeployments(t,
		config.Deployment{ID: "east", Model: "gpt-4o", ResourceName: "east", APIKey: secret},
		config.Deployment{ID: "west", Model: "gpt-4o-mini", ResourceName: "west", APIKey: secret},
		config.Deployment{ID: "off", Model: "gpt-4o", Provider: "openai", Active: active(false)},
	)
	r, err := router.New(router.Options{Now: func() time.Time { return now }}, file)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	pool, err := r.Pool("gpt-4o", config.ClassChat)
	if err != nil {
		t.Fatalf("Pool: %v", err)
	}
	pick, err := pool.Pick(now, nil)
	if err != nil || pick.ID() != "east" {
		t.Fatalf("Pick: %v, %v; want east", pick.Deployment, err)
	}
	r.Report(pick, router.Outcome{Verdict: router.RateLimited, Cooldown: 30 * time.Second, Reason: "429 retry-after 30s"}, 0)
	return r, file
}

func TestRouting(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	r, file := coolingRouter(t, now)
	e := newEnv(t, setup{config: file, router: r})
	got := e.must(http.StatusOK, "GET", "/admin/v1/routing", nil)
	data := got["data"].([]any)
	if len(data) != 3 {
		t.Fatalf("%d deployments in /admin/v1/routing, want 3: %v", len(data), got)
	}
	east := data[0].(map[string]any)
	want := map[string]any{
		"id": "east", "model": "gpt-4o", "class": "openai-chat", "priority": 1.0, "active": true,
		"state": "cooling", "cooldown_until": "2025-06-01T12:00:30Z", "cooldown_reason": "429 retry-after 30s",
		"circuit": "closed", "in_flight": 0.0, "latency_ewma_ns": 0.0, "slow_threshold_ns": 3e9, "requests": 1.0, "failures": 0.0,
	}
	if diff := cmp.Diff(want, east); diff != "" {
		t.Errorf("east mismatch (-want +got):\n%s", diff)
	}
	for i, state := range []string{"cooling", "serving", "inactive"} {
		if s := data[i].(map[string]any)["state"]; s != state {
			t.Errorf("deployment %d: state %v, want %s", i, s, state)
		}
	}
}

func TestRoutingWithoutRouter(t *testing.T) {
	e := newEnv(t, setup{})
	if diff := cmp.Diff(map[string]any{"data": []any{}}, e.must(http.StatusOK, "GET", "/admin/v1/routing", nil)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestHealth(t *testing.T) {
	now := time.Now()
	r, file := coolingRouter(t, now)
	e := newEnv(t, setup{config: file, router: r})
	got := e.must(http.StatusOK, "GET", "/health", nil)
	want := map[string]any{
		"healthy_endpoints": []any{map[string]any{
			"id": "west", "model_name": "gpt-4o-mini", "model": "azure/gpt-4o-mini", "api_base": "https://west.openai.azure.com", "state": "serving",
		}},
		"unhealthy_endpoints": []any{map[string]any{
			"id": "east", "model_name": "gpt-4o", "model": "azure/gpt-4o", "api_base": "https://east.openai.azure.com", "state": "cooling",
			"error": "429 retry-after 30s",
		}},
		"healthy_count": 1.0, "unhealthy_count": 1.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/health mismatch (-want +got):\n%s", diff)
	}
}

func TestLivelinessReadiness(t *testing.T) {
	e := newEnv(t, setup{})
	for _, path := range []string{"/health/liveliness", "/health/liveness"} {
		code, raw := e.doAs("GET", path, nil, "")
		if code != http.StatusOK || string(raw) != "\"I'm alive!\"\n" {
			t.Errorf("GET %s: %d %q; want 200 \"I'm alive!\"", path, code, raw)
		}
	}
	code, raw := e.doAs("GET", "/health/readiness", nil, "")
	if code != http.StatusOK || string(raw) != `{"db":"connected","status":"healthy"}`+"\n" {
		t.Errorf("readiness: %d %s; want 200 healthy, connected", code, raw)
	}
	if err := e.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The replica routes on: degraded, still ready, so a database outage
	// does not take every replica out of a load balancer at once.
	code, raw = e.doAs("GET", "/health/readiness", nil, "")
	if code != http.StatusOK {
		t.Errorf("readiness with the store closed: status %d, want 200; body %s", code, raw)
	}
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil || body["status"] != "degraded" || !strings.HasPrefix(body["db"], "unreachable since ") {
		t.Errorf("readiness with the store closed: %s; want status degraded, unreachable since when", raw)
	}
	// No driver words: they name paths, hosts, users and databases.
	for _, word := range []string{".db", "sqlite", "sql:", "closed"} {
		if strings.Contains(body["db"], word) {
			t.Errorf("readiness shows the driver's %q: %s", word, raw)
		}
	}
}

// TestHealthProbe: with ?probe=true every active deployment gets one
// minimal request; one that answers 401 is unhealthy with the classifier's
// reason, whatever the router thought, and the probe sends the
// deployment's own key, never leaking it into the answer.
func TestHealthProbe(t *testing.T) {
	var gotKey atomic.Value
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey.Store(r.Header.Get("Authorization")) // a loopback endpoint defaults to provider openai
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"p"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`)
	}))
	defer bad.Close()
	file := fileDeployments(t,
		config.Deployment{ID: "good", Model: "gpt-4o", Endpoint: ok.URL, APIKey: secret},
		config.Deployment{ID: "broken", Model: "gpt-4o", Endpoint: bad.URL, APIKey: secret},
		config.Deployment{ID: "art", Model: "dall-e-3", Class: config.ClassImages, Endpoint: bad.URL, APIKey: secret},
	)
	r, err := router.New(router.Options{}, file)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{config: file, router: r})
	got := e.must(http.StatusOK, "GET", "/health?probe=true", nil)
	names := func(key string) []string {
		var out []string
		for _, x := range got[key].([]any) {
			out = append(out, x.(map[string]any)["id"].(string))
		}
		slices.Sort(out)
		return out
	}
	if h, u := names("healthy_endpoints"), names("unhealthy_endpoints"); !slices.Equal(h, []string{"art", "good"}) || !slices.Equal(u, []string{"broken"}) {
		t.Errorf("healthy %v unhealthy %v; want art (not probed) and good healthy, broken unhealthy", h, u)
	}
	raw, _ := json.Marshal(got)
	if !strings.Contains(string(raw), "upstream 401") || strings.Contains(string(raw), secret) {
		t.Errorf("answer %s: want the 401 reason and no key", raw)
	}
	if gotKey.Load() != "Bearer "+secret {
		t.Errorf("the probe sent Authorization %v, want the deployment's key", gotKey.Load())
	}
	for _, s := range r.Status() {
		if s.Requests != 0 || s.State != "serving" {
			t.Errorf("probing changed routing state of %s: %+v", s.ID, s)
		}
	}
}
