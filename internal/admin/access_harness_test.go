package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// The harness of the key, event and attendee tests: the env of
// harness_test.go, with the options those routes add (secret, clock,
// limiter), on SQLite or PostgreSQL.

// testNow is where the access tests' clock starts: before the events they
// create, which run in December 2026.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a settable time source for the handler, the store and the
// limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// accessSetup tweaks an accessEnv.
type accessSetup struct {
	postgres bool // a fresh PostgreSQL schema instead of a SQLite file
	noSecret bool // no Options.Secret: attendee keys cannot be issued
	config   []config.Deployment
}

// accessEnv is an env with a clock and the secret attendee keys derive
// from.
type accessEnv struct {
	*env
	clock  *clock
	secret []byte
}

// newAccessEnv starts a management API on a fresh store.
func newAccessEnv(t *testing.T, s accessSetup) *accessEnv {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{t: testNow}
	storeURL := "sqlite://" + filepath.Join(t.TempDir(), "spillway.db")
	if s.postgres {
		storeURL = postgresSchema(t)
	}
	st, err := store.Open(t.Context(), storeURL, store.Options{Logger: logger, Now: clk.Now})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })

	e := &accessEnv{env: &env{t: t, store: st, logs: logs}, clock: clk}
	if !s.noSecret {
		e.secret = make([]byte, 32)
		_, _ = rand.Read(e.secret)
	}
	e.handler = admin.New(admin.Options{
		Store:  st,
		Config: s.config,
		Token: func(presented string) bool {
			return subtle.ConstantTimeCompare([]byte(presented), []byte(adminToken)) == 1
		},
		Reload: func(context.Context) error {
			e.reloads.Add(1)
			return nil
		},
		Logger:  logger,
		Secret:  e.secret,
		Now:     clk.Now,
		Limiter: limits.NewMemory(clk.Now),
	})
	return e
}

// forEachStore runs test against SQLite and PostgreSQL (skipped without
// it, failed under CI: testenv decides).
func forEachStore(t *testing.T, s accessSetup, test func(t *testing.T, e *accessEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		s := s
		s.postgres = false
		test(t, newAccessEnv(t, s))
	})
	t.Run("postgres", func(t *testing.T) {
		s := s
		s.postgres = true
		test(t, newAccessEnv(t, s))
	})
}

// postgresSchema creates a schema of its own for t in the test
// PostgreSQL, dropped when t ends, and returns a URL whose connections
// use it. Without PostgreSQL the test skips, except under CI, where a
// skipped suite would hide a broken setup: testenv decides.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := testenv.Postgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "spillway_admin_test_" + strings.ToLower(rand.Text())
	exec := func(ctx context.Context, stmt string) error {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, stmt)
		return err
	}
	if err := exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// request is one request for send: headers beyond the JSON body's, and
// the client's address.
type request struct {
	method, path string
	body         any // JSON-encoded unless a string
	header       http.Header
	remoteAddr   string // default 192.0.2.1:1234
}

// response is what send got back.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body as an object, failing the test if it is not one.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	return m
}

// send serves req and records the body for the leak checks. A 204 must
// have no body; every other answer must be JSON.
func (e *accessEnv) send(req request) response {
	e.t.Helper()
	var r io.Reader
	switch b := req.body.(type) {
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
	hr := httptest.NewRequestWithContext(e.t.Context(), req.method, req.path, r)
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	if r != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.RemoteAddr = "192.0.2.1:1234"
	if req.remoteAddr != "" {
		hr.RemoteAddr = req.remoteAddr
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, hr)
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code == http.StatusNoContent && rec.Body.Len() != 0:
		e.t.Errorf("%s %s: 204 with a body: %s", req.method, req.path, rec.Body)
	case rec.Code != http.StatusNoContent && ct != "application/json":
		e.t.Errorf("%s %s: Content-Type %q, want application/json", req.method, req.path, ct)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, rec.Body.String())
	e.mu.Unlock()
	return response{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// admin sends a request with the admin token and wants status want.
func (e *accessEnv) admin(want int, method, path string, body any) response {
	e.t.Helper()
	res := e.send(request{method: method, path: path, body: body, header: http.Header{"Authorization": {"Bearer " + adminToken}}})
	if res.code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.code, want, res.body)
	}
	return res
}

// asKey sends a request authenticated with key in the api-key header.
func (e *accessEnv) asKey(method, path, key string) response {
	e.t.Helper()
	return e.send(request{method: method, path: path, header: http.Header{"Api-Key": {key}}})
}

// createEvent creates an event from body, which the defaults fill in,
// and returns its id.
func (e *accessEnv) createEvent(body map[string]any) string {
	e.t.Helper()
	full := map[string]any{
		"name": "Hack Sydney", "start": "2026-12-01T09:00:00", "end": "2026-12-02T17:00:00",
		"time_zone": "Australia/Sydney", "shared_code": "let-me-in",
		"organizer_name": "Ann", "organizer_email": "ann@example.com",
	}
	for k, v := range body {
		full[k] = v
	}
	m := e.admin(http.StatusCreated, "POST", "/admin/v1/events", full).json(e.t)
	id, _ := m["id"].(string)
	if id == "" {
		e.t.Fatalf("created event has no id: %v", m)
	}
	return id
}

// register self-registers attendee for event from the default address.
func (e *accessEnv) register(eventID, code, attendee string) response {
	e.t.Helper()
	return e.send(request{
		method: "POST", path: "/api/v1/attendee/event/" + eventID + "/register",
		body: map[string]string{"shared_code": code, "attendee": attendee},
	})
}

// wantNoLeak checks that key, its hash and the other secrets appear in
// no log line and in at most allowed response bodies.
func (e *accessEnv) wantNoLeak(key string, allowed int) {
	e.t.Helper()
	h := auth.Hash(key)
	e.mu.Lock()
	bodies := append([]string(nil), e.bodies...)
	e.mu.Unlock()
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, key) {
			n++
		}
		for _, enc := range []string{hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
			if strings.Contains(b, enc) {
				e.t.Errorf("a response carries the hash of key %s: %s", auth.DisplayPrefix(key), b)
			}
		}
	}
	if n > allowed {
		e.t.Errorf("key %s is in %d responses, want at most %d", auth.DisplayPrefix(key), n, allowed)
	}
	if strings.Contains(e.logs.String(), key) {
		e.t.Errorf("key %s is in the log", auth.DisplayPrefix(key))
	}
}

// errBody decodes an OpenAI-shaped error, checking its four fields.
func (r response) err(t *testing.T) apiErr {
	t.Helper()
	return decodeErr(t, r.body)
}
