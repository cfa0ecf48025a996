package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestReplicasStartTogetherOnAnEmptyDatabase is a rollout of three
// replicas (a Deployment scaled to three, or an HPA) that start at the
// same instant on an empty PostgreSQL database: the store's migration lock
// lets exactly one of them migrate while the others wait, each migration
// runs once, and all three serve.
//
// goose alone would mostly get this right by luck: it retries creating
// its version table a second later, by which time the first replica has
// usually finished. So the test holds the migrating replica inside its
// migrations (its log write of the first applied migration blocks) and
// checks that the other two wait on the lock meanwhile, rather than start.
func TestReplicasStartTogetherOnAnEmptyDatabase(t *testing.T) {
	storeURL := postgresSchema(t) // a new, empty schema
	// Tag the replicas' connections, to find them in pg_locks.
	u, err := url.Parse(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	appName := "spillway_start_" + strings.ToLower(rand.Text()[:10])
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	storeURL = u.String()

	migrations, err := store.MigrationVersions()
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(mock.New(mock.Options{Name: "upstream"}))
	defer up.Close()
	db, err := sql.Open("pgx", storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const n = 3
	var (
		logs    = &migrationGate{paused: make(chan string, 1), resume: make(chan struct{})}
		ready   sync.WaitGroup
		release = make(chan struct{})
		apps    [n]*app
		errs    [n]error
		started [n]chan struct{}
	)
	for i := range n {
		cfg := &config.Config{
			Store:      storeURL,
			AdminToken: "sk-admin-test",
			Keys:       []config.Key{{Key: "sk-client", Name: "client"}},
		}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(logs, nil)).With("replica", i)
		started[i] = make(chan struct{})
		ready.Add(1)
		go func() {
			defer close(started[i])
			ready.Done()
			<-release
			apps[i], errs[i] = newApp(context.Background(), cfg, make([]byte, 32), log, nil)
		}()
	}
	ready.Wait()
	close(release) // all three at once

	// One replica is now migrating, held in its log write; the other two
	// must be waiting for the lock, not starting.
	giveUp := time.After(30 * time.Second) // liveness bound, not a performance claim
	var migrator string
	select {
	case migrator = <-logs.paused:
	case <-giveUp:
		close(logs.resume)
		t.Fatalf("no replica applied a migration; log:\n%s", logs)
	}
	waiting := 0
	for waiting != n-1 {
		for i := range n {
			select {
			case <-started[i]:
				t.Errorf("replica %d started while replica %s was still migrating (err %v)", i, migrator, errs[i])
			default:
			}
		}
		if t.Failed() {
			break
		}
		if err := db.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1`, appName).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case <-giveUp:
			t.Errorf("%d replicas wait on the migration lock while replica %s migrates, want %d", waiting, migrator, n-1)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(logs.resume)
	for i := range n {
		<-started[i]
		if a := apps[i]; a != nil {
			t.Cleanup(func() { a.close(context.Background()); a.release() })
		}
		if errs[i] != nil {
			t.Errorf("replica %d did not start: %v", i, errs[i])
		}
	}
	if t.Failed() {
		t.Fatalf("log:\n%s", logs)
	}

	// Each migration applied once, all by the replica that took the lock.
	applied := map[string][]string{} // version → replicas that applied it
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, `msg="store: applied migration"`) {
			continue
		}
		applied[field(line, "version")] = append(applied[field(line, "version")], field(line, "replica"))
	}
	if len(applied) != len(migrations) {
		t.Errorf("%d migrations logged as applied, want the %d the store has", len(applied), len(migrations))
	}
	migrators := map[string]bool{}
	for v, by := range applied {
		if len(by) != 1 {
			t.Errorf("migration %s applied %d times (by replicas %v), want once", v, len(by), by)
		}
		for _, r := range by {
			migrators[r] = true
		}
	}
	if len(migrators) != 1 {
		t.Errorf("replicas %v migrated; want exactly one, the others waiting on the lock", migrators)
	}

	// goose's own record agrees: one row per version.
	var rows, versions int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != len(migrations) || versions != len(migrations) {
		t.Errorf("goose_db_version has %d rows for %d versions, want %d and %d", rows, versions, len(migrations), len(migrations))
	}

	// All three serve: a deployment created through one is routed by each.
	reps := make([]*replica, n)
	for i, a := range apps {
		srv := httptest.NewServer(a.handler)
		t.Cleanup(srv.Close)
		reps[i] = &replica{app: a, srv: srv}
	}
	code, body := reps[0].do(t, http.MethodPost, "/admin/v1/deployments", "sk-admin-test",
		`{"id":"gpt4o-1","model":"gpt-4o","class":"openai-chat","provider":"azure","endpoint":"`+up.URL+`","api_key":"sk-upstream"}`)
	if code != http.StatusCreated {
		t.Fatalf("create a deployment on replica 0: %d %s", code, body)
	}
	for i, r := range reps {
		r.app.catalog.Tick(context.Background(), false)
		if code := r.chat(t, "gpt-4o"); code != http.StatusOK {
			t.Errorf("replica %d: chat status %d, want 200", i, code)
		}
		if code, body := r.do(t, http.MethodGet, "/health/readiness", "", ""); code != http.StatusOK {
			t.Errorf("replica %d: readiness %d %s", i, code, body)
		}
	}
}

// field returns the value of key=value in a slog text line.
func field(line, key string) string {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return fmt.Sprintf("(no %s)", key)
}

// migrationGate collects the replicas' logs, and holds the first write of
// an applied migration, which the migrating replica makes while it still
// holds the migration lock, until resume is closed.
type migrationGate struct {
	syncBuffer
	once   sync.Once
	paused chan string // the replica that is held
	resume chan struct{}
}

func (g *migrationGate) Write(p []byte) (int, error) {
	n, err := g.syncBuffer.Write(p)
	if line := string(p); strings.Contains(line, `msg="store: applied migration"`) {
		g.once.Do(func() {
			g.paused <- field(line, "replica")
			<-g.resume
		})
	}
	return n, err
}
