package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// postgresSchema returns a URL of a fresh schema in the test PostgreSQL,
// dropped when the test ends. Without PostgreSQL the test skips, except
// under CI, where that is a failure: testenv decides.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := testenv.Postgres(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "spillway_replicas_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

type replica struct {
	app *app
	srv *httptest.Server
}

func startReplica(t *testing.T, storeURL string) *replica {
	t.Helper()
	cfg := &config.Config{
		Store:      storeURL,
		AdminToken: "sk-admin-test",
		Keys:       []config.Key{{Key: "sk-client", Name: "client"}},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	a, err := newApp(context.Background(), cfg, secret, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.close(context.Background())
		a.release()
	})
	return &replica{app: a, srv: srv}
}

func (r *replica) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *replica) chat(t *testing.T, model string) int {
	code, _ := r.do(t, http.MethodPost, "/v1/chat/completions", "sk-client", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
	return code
}

// TestTwoReplicasOverPostgres: a deployment added through replica A's
// management API is routed by replica B after B's next poll, and a delete
// propagates the same way. Each poll is one revision query, DefaultPoll
// (1 s) apart, which is how the 2-second promise is kept.
func TestTwoReplicasOverPostgres(t *testing.T) {
	storeURL := postgresSchema(t)
	up := httptest.NewServer(mock.New(mock.Options{Name: "upstream"}))
	defer up.Close()
	a, b := startReplica(t, storeURL), startReplica(t, storeURL)

	if code := b.chat(t, "gpt-4o"); code != http.StatusNotFound {
		t.Fatalf("B before any deployment: status %d, want 404", code)
	}
	code, body := a.do(t, http.MethodPost, "/admin/v1/deployments", "sk-admin-test",
		`{"id":"gpt4o-1","model":"gpt-4o","class":"openai-chat","provider":"azure","endpoint":"`+up.URL+`","api_key":"sk-upstream-SECRET"}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create on A: %d %s", code, body)
	}
	if strings.Contains(body, "sk-upstream-SECRET") {
		t.Errorf("create response leaks the upstream key: %s", body)
	}
	if code := a.chat(t, "gpt-4o"); code != http.StatusOK {
		t.Errorf("A right after its own change: status %d, want 200", code)
	}
	if code := b.chat(t, "gpt-4o"); code != http.StatusNotFound {
		t.Errorf("B before its poll: status %d, want 404", code)
	}
	b.app.catalog.Tick(context.Background(), false)
	if code := b.chat(t, "gpt-4o"); code != http.StatusOK {
		t.Errorf("B after one poll: status %d, want 200", code)
	}

	// The same through B's real poll loop.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.app.catalog.Run(ctx, 0, 0) }()
	defer func() { stop(); <-done }()
	if code, body := a.do(t, http.MethodDelete, "/admin/v1/deployments/gpt4o-1", "sk-admin-test", ""); code >= 300 {
		t.Fatalf("delete on A: %d %s", code, body)
	}
	start := time.Now()
	giveUp := start.Add(15 * time.Second) // liveness bound, not a performance claim
	for b.chat(t, "gpt-4o") != http.StatusNotFound {
		if time.Now().After(giveUp) {
			t.Fatal("B never saw the delete")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("delete propagated to B in %v (poll interval %v)", time.Since(start).Round(time.Millisecond), 1*time.Second)
}
