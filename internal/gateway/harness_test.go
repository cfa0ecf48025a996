package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
)

const testKey = "sk-test-key"

// clock is an injected clock for cooldowns and circuits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// backend is one deployment backed by a real httptest server.
type backend struct {
	id       string
	model    string // default gpt-4o
	class    string // default openai-chat
	provider string // default azure
	priority int
	handler  http.HandlerFunc
	endpoint string // overrides the test server's URL (e.g. a closed port)
	upName   string // upstream deployment/model name
	srv      *httptest.Server
	mu       sync.Mutex
	hits     int
}

func (u *backend) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits
}

type harness struct {
	t      *testing.T
	clock  *clock
	router *router.Router
	gw     *Gateway
	srv    *httptest.Server
	ups    map[string]*backend
}

type harnessOptions struct {
	retries     int
	noRetries   bool
	models      map[string]config.Model
	maxBody     int64
	idle        time.Duration
	firstByte   time.Duration
	strategy    string
	threshold   int
	circuitOpen time.Duration
	// keys are accepted besides testKey; recorder gets usage records.
	keys     []auth.StaticKey
	recorder Recorder
}

func newHarness(t *testing.T, o harnessOptions, ups ...*backend) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), ups: make(map[string]*backend)}
	var deps []config.Deployment
	for _, u := range ups {
		u := u
		if u.handler != nil {
			u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u.mu.Lock()
				u.hits++
				u.mu.Unlock()
				// Drain the body first: net/http notices a client that went
				// away only once the body is read, and the hanging handlers
				// depend on that.
				b, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(b))
				u.handler(w, r)
			}))
			t.Cleanup(u.srv.Close)
		}
		d := config.Deployment{
			ID: u.id, Model: u.model, Class: u.class, Provider: u.provider,
			Endpoint: u.endpoint, Deployment: u.upName, APIKey: config.Secret("upstream-secret-" + u.id), Priority: u.priority,
		}
		if d.Model == "" {
			d.Model = "gpt-4o"
		}
		if d.Class == "" {
			d.Class = config.ClassChat
		}
		if d.Provider == "" {
			d.Provider = config.ProviderAzure
		}
		if d.Endpoint == "" {
			d.Endpoint = u.srv.URL
		}
		if d.Deployment == "" {
			d.Deployment = d.Model
		}
		if d.Priority == 0 {
			d.Priority = 1
		}
		if d.Provider == config.ProviderAzure {
			d.APIVersion = config.DefaultAPIVersion
		}
		deps = append(deps, d)
		h.ups[u.id] = u
	}
	r, err := router.New(router.Options{
		Now: h.clock.Now, Cooldown: 30 * time.Second, Models: o.models, Strategy: o.strategy,
		FailureThreshold: o.threshold, CircuitOpen: o.circuitOpen,
	}, deps)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	h.router = r
	retries := o.retries
	if retries == 0 && !o.noRetries {
		retries = 2
	}
	if o.noRetries {
		retries = -1
	}
	firstByte := o.firstByte
	if firstByte == 0 {
		firstByte = 10 * time.Second
	}
	tr := NewTransport(2*time.Second, firstByte)
	t.Cleanup(tr.CloseIdleConnections)
	h.gw = New(Options{
		Router: r, Auth: auth.NewStaticKeys(append([]auth.StaticKey{{Key: testKey, Name: "test"}}, o.keys...)), Recorder: o.recorder,
		Transport: tr, Retries: retries, MaxBodyBytes: o.maxBody, IdleTimeout: o.idle,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h
}

// post sends a request to the gateway with the test key.
func (h *harness) post(path, body string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

// chat sends a non-streaming chat request and returns status, the answering
// deployment and the body.
func (h *harness) chat() (int, string, string) {
	h.t.Helper()
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Spillway-Deployment"), string(b)
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, r)
	return buf.String()
}

// okChat answers like a chat completion.
func okChat(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-`+name+`","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hello from `+name+`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}`)
	}
}

// status answers with a fixed status, headers and body.
func status(code int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
