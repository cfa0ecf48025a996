package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// adminToken is the admin token every test server accepts.
const adminToken = "admin-test-token"

// secret is an upstream key that must never come back out.
const secret = "sk-upstream-SECRET-123"

// env is a management API in front of a real SQLite store, recording
// every response body and every log line so tests can look for leaks.
type env struct {
	t       *testing.T
	store   store.Store
	router  *router.Router
	handler http.Handler
	reloads atomic.Int32
	logs    *lockedBuffer

	mu     sync.Mutex
	bodies []string
}

// setup tweaks the options of a test env.
type setup struct {
	config    []config.Deployment
	noKey     bool // open the store without SPILLWAY_SECRET_KEY
	router    *router.Router
	reloadErr error
	now       func() time.Time // nil: time.Now
}

// newEnv starts a management API on a fresh SQLite file in t's temp dir.
func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	var key []byte
	if !s.noKey {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "spillway.db"), store.Options{SecretKey: key, Logger: logger})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, store: st, router: s.router, logs: logs}
	e.handler = admin.New(admin.Options{
		Store:  st,
		Config: s.config,
		Router: s.router,
		Token: func(presented string) bool {
			return subtle.ConstantTimeCompare([]byte(presented), []byte(adminToken)) == 1
		},
		Reload: func(ctx context.Context) error {
			e.reloads.Add(1)
			return s.reloadErr
		},
		Logger: logger,
		Now:    s.now,
	})
	return e
}

// do sends a request with the admin token; body is JSON-encoded unless it
// is a string, sent as is.
func (e *env) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	return e.doAs(method, path, body, "Bearer "+adminToken)
}

// doAs sends a request with the given Authorization header ("" for none).
func (e *env) doAs(method, path string, body any, authorization string) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal request: %v", err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(e.t.Context(), method, path, r)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" && rec.Code != http.StatusNoContent {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, rec.Body.String())
	e.mu.Unlock()
	return rec.Code, rec.Body.Bytes()
}

// must sends a request and fails the test unless the status is want; it
// returns the decoded JSON body.
func (e *env) must(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	code, raw := e.do(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatalf("%s %s: body is not a JSON object: %s", method, path, raw)
	}
	return m
}

// wantReloads checks how many times Reload ran so far.
func (e *env) wantReloads(want int) {
	e.t.Helper()
	if got := int(e.reloads.Load()); got != want {
		e.t.Errorf("Reload called %d times, want %d", got, want)
	}
}

// apiErr is the OpenAI-shaped error body.
type apiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
	Detail string `json:"detail"`
}

// mustErr sends a request, wants status and an OpenAI-shaped error with
// all four fields present, and returns it.
func (e *env) mustErr(want int, method, path string, body any) apiErr {
	e.t.Helper()
	code, raw := e.do(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, raw)
	}
	return decodeErr(e.t, raw)
}

func decodeErr(t *testing.T, raw []byte) apiErr {
	t.Helper()
	var fields struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("error body is not JSON: %s", raw)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := fields.Error[k]; !ok {
			t.Errorf("error body lacks error.%s: %s", k, raw)
		}
	}
	var e apiErr
	_ = json.Unmarshal(raw, &e)
	return e
}

func param(e apiErr) string {
	if e.Error.Param == nil {
		return ""
	}
	return *e.Error.Param
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
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

// active returns a pointer to b, for config.Deployment.Active.
func active(b bool) *bool { return &b }

// fileDeployments is a config file's deployments, defaulted as Parse
// leaves them.
func fileDeployments(t *testing.T, ds ...config.Deployment) []config.Deployment {
	t.Helper()
	c := config.Config{Deployments: ds}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return c.Deployments
}
