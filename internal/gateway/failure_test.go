package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/router"
)

// TestStatusSaysWhatToDo: DESIGN.md routing rule 11. Each scenario sends
// requests until its steady state and checks what clients then get: 429
// only when waiting helps, 503 for an outage, 502 for rejected
// credentials, never 429 for an outage.
func TestStatusSaysWhatToDo(t *testing.T) {
	unauthorized := `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`
	throttled := `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}`
	tests := []struct {
		name       string
		ups        func(t *testing.T) []*backend
		requests   int
		wantFirst  int // the first request's status
		wantStatus int // every later request's
		wantCode   string
		retryAfter bool // later answers carry Retry-After
	}{
		{
			name: "every upstream refuses connections",
			ups: func(t *testing.T) []*backend {
				return []*backend{{id: "a", endpoint: closedURL(t)}, {id: "b", endpoint: closedURL(t)}}
			},
			requests: 6, wantFirst: http.StatusBadGateway, wantStatus: http.StatusServiceUnavailable, wantCode: "no_deployment_available", retryAfter: true,
		},
		{
			name: "the upstream rejects the gateway's key",
			ups: func(t *testing.T) []*backend {
				return []*backend{{id: "a", handler: status(http.StatusUnauthorized, unauthorized)}}
			},
			requests: 4, wantFirst: http.StatusBadGateway, wantStatus: http.StatusBadGateway, wantCode: "upstream_auth_failed",
		},
		{
			name: "every deployment is throttled",
			ups: func(t *testing.T) []*backend {
				return []*backend{
					{id: "a", handler: status(http.StatusTooManyRequests, throttled, "Retry-After", "20")},
					{id: "b", handler: status(http.StatusTooManyRequests, throttled, "Retry-After", "20")},
				}
			},
			requests: 3, wantFirst: http.StatusTooManyRequests, wantStatus: http.StatusTooManyRequests, wantCode: "rate_limit_exceeded", retryAfter: true,
		},
		{
			name: "one throttled, one down",
			ups: func(t *testing.T) []*backend {
				return []*backend{
					{id: "a", handler: status(http.StatusTooManyRequests, throttled, "Retry-After", "20")},
					{id: "b", endpoint: closedURL(t)},
				}
			},
			requests: 8, wantFirst: http.StatusBadGateway, wantStatus: http.StatusServiceUnavailable, wantCode: "no_deployment_available", retryAfter: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{threshold: 2}, tt.ups(t)...)
			var last *http.Response
			var body string
			for i := range tt.requests {
				resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
				body = readAll(t, resp.Body)
				resp.Body.Close()
				if i == 0 && resp.StatusCode != tt.wantFirst {
					t.Errorf("first request: status %d, want %d; body %s", resp.StatusCode, tt.wantFirst, body)
				}
				last = resp
			}
			if last.StatusCode != tt.wantStatus || errorCode(t, body) != tt.wantCode {
				t.Fatalf("after %d requests: status %d body %s, want %d %s", tt.requests, last.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if got := last.Header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After %q, want present %v", last.Header.Get("Retry-After"), tt.retryAfter)
			}
		})
	}
}

// TestHungDeploymentIsNoticed: a deployment that accepts requests and
// never answers is taken out of rotation even when every client gives up
// before the first-byte timeout, once it kept them waiting past its slow
// threshold (by the injected clock).
func TestHungDeploymentIsNoticed(t *testing.T) {
	got := make(chan struct{}, 16)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hung := func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	h := newHarness(t, harnessOptions{threshold: 2, strategy: "round-robin"},
		&backend{id: "hung", handler: hung},
		&backend{id: "ok", handler: okChat("ok")})

	// A client that gives up quickly is no fault of the deployment's.
	abandon := func(advance time.Duration) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		done := make(chan *http.Response, 1)
		go func() {
			resp, _ := h.srv.Client().Do(req)
			done <- resp
		}()
		select {
		case <-got: // the hung deployment has the request
		case resp := <-done:
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			return // round robin sent it to the healthy one
		}
		h.clock.Advance(advance)
		cancel()
		if resp := <-done; resp != nil {
			resp.Body.Close()
		}
	}
	failures := func() int64 {
		for _, s := range h.router.Status() {
			if s.ID == "hung" {
				return s.Failures
			}
		}
		return -1
	}
	for range 4 {
		abandon(time.Second) // under the 3 s floor
	}
	if n := failures(); n != 0 {
		t.Fatalf("clients leaving after 1 s made %d failures, want 0", n)
	}
	for failures() < 2 {
		abandon(4 * time.Second) // past the floor
	}
	var state, lastErr string
	for _, s := range h.router.Status() {
		if s.ID == "hung" {
			state, lastErr = s.State, s.LastError
		}
	}
	if state != "circuit-open" || !strings.Contains(lastErr, "the client gave up first") {
		t.Fatalf("hung deployment: state %q, last error %q; want circuit-open because clients gave up", state, lastErr)
	}
	// Now every request goes to the healthy deployment.
	for i := range 4 {
		if status, dep, body := h.chat(); status != http.StatusOK || dep != "ok" {
			t.Errorf("request %d: %d from %q, want 200 from ok; %s", i, status, dep, body)
		}
	}
}

func TestSlowThresholdFollowsLatency(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: okChat("a")})
	d, _ := h.router.Deployment("a")
	if got := h.router.SlowThreshold(d); got != 3*time.Second {
		t.Errorf("threshold with no history = %v, want the 3s floor", got)
	}
	pick := router.Pick{Deployment: d}
	o := router.Outcome{Verdict: router.ClientGone}
	if got := h.router.Abandoned(pick, o, 2*time.Second); got.Verdict != router.ClientGone {
		t.Errorf("abandoned after 2s: %v, want no penalty", got.Verdict)
	}
	if got := h.router.Abandoned(pick, o, 3*time.Second); got.Verdict != router.Transient {
		t.Errorf("abandoned after 3s: %v, want a failure", got.Verdict)
	}
}

// TestResetMidBodyIsRetried: a JSON answer is read whole before the client
// sees a byte, so an upstream that breaks off in the middle of it is tried
// past like any failed attempt, not sent to the client truncated.
func TestResetMidBodyIsRetried(t *testing.T) {
	cut := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "400")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"chatcmpl-cut","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hel`)
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	h := newHarness(t, harnessOptions{strategy: "round-robin"},
		&backend{id: "cut", handler: cut},
		&backend{id: "ok", handler: okChat("ok")})
	for i := range 4 {
		status, dep, body := h.chat()
		if status != http.StatusOK || dep != "ok" || !strings.Contains(body, "hello from ok") {
			t.Errorf("request %d: %d from %q body %q; want the whole answer from ok", i, status, dep, body)
		}
	}
	if n := h.ups["cut"].count(); n == 0 {
		t.Error("the breaking upstream was never tried")
	}
}
