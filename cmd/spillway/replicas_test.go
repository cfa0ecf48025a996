package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
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
// propagates the same way. Each poll is one revision query, replicaPoll
// apart (TestReplicaSyncOnePoll).
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
	t.Logf("delete propagated to B in %v (poll interval %v)", time.Since(start).Round(time.Millisecond), replicaPoll)
}

// TestReplicaSyncOnePoll holds the README's promise that a change made
// through one replica reaches the others within a second: every replica
// polls the store each replicaPoll, and one poll applies a change. Here
// a key's creation and revocation, with the polls made by the test, not
// waited for; TestTwoReplicasOverPostgres does the same for deployments
// and TestAdminTokenGeneratedOnceAndRotatedEverywhere for the admin token.
func TestReplicaSyncOnePoll(t *testing.T) {
	// The promise is the poll interval plus a reload's few milliseconds.
	if promise := time.Second; replicaPoll > promise {
		t.Fatalf("replicas poll every %v, but the README promises changes on every replica within %v", replicaPoll, promise)
	}

	storeURL := postgresSchema(t)
	a, b := startReplica(t, storeURL), startReplica(t, storeURL)
	poll := func() { b.app.catalog.Tick(context.Background(), false) }
	models := func(key string) (int, string) {
		code, body := b.do(t, http.MethodGet, "/v1/models", key, "")
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(body), &e)
		return code, e.Error.Code
	}

	code, body := a.do(t, http.MethodPost, "/admin/v1/keys", "sk-admin-test", `{"name":"synced"}`)
	if code != http.StatusCreated {
		t.Fatalf("create a key on A: %d %s", code, body)
	}
	var k struct{ ID, Key string }
	if err := json.Unmarshal([]byte(body), &k); err != nil {
		t.Fatal(err)
	}
	if code, _ := models(k.Key); code != http.StatusUnauthorized {
		t.Errorf("B before its poll: status %d for the new key, want 401", code)
	}
	poll()
	if code, _ := models(k.Key); code != http.StatusOK {
		t.Errorf("B after one poll: status %d for the new key, want 200", code)
	}

	if code, body := a.do(t, http.MethodPost, "/admin/v1/keys/"+k.ID+"/revoke", "sk-admin-test", ""); code != http.StatusOK {
		t.Fatalf("revoke on A: %d %s", code, body)
	}
	if code, _ := models(k.Key); code != http.StatusOK {
		t.Errorf("B before its poll: status %d for the revoked key, want 200 (the poll is what carries the change)", code)
	}
	poll()
	if code, reason := models(k.Key); code != http.StatusUnauthorized || reason != "api_key_revoked" {
		t.Errorf("B after one poll: status %d, code %q for the revoked key; want 401, api_key_revoked", code, reason)
	}
}
