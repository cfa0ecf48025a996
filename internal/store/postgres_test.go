package store_test

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/store/storetest"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// postgresURL returns the test PostgreSQL's URL, or skips the test (fails
// it under CI): testenv decides.
func postgresURL(t testing.TB) string {
	t.Helper()
	return testenv.Postgres(t)
}

// newPostgres creates a schema of its own for t, dropped when t ends, and
// returns a URL whose connections use it through search_path.
func newPostgres(t *testing.T) string {
	t.Helper()
	return postgresSchema(t)
}

// postgresSchema is newPostgres for tests and benchmarks alike.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := postgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "spillway_test_" + strings.ToLower(rand.Text())

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPostgres(t *testing.T) {
	postgresURL(t)
	storetest.Run(t, opener(newPostgres))
}

func TestPostgresMigrations(t *testing.T) {
	postgresURL(t)
	testMigrations(t, newPostgres)
}

// TestPostgresConcurrentStart starts replicas together on an empty schema:
// the migration lock lets one migrate while the others wait.
func TestPostgresConcurrentStart(t *testing.T) {
	postgresURL(t)
	url := newPostgres(t)
	// Leave goose's version table behind but undo the migrations, so the
	// replicas race on the migrations themselves, not on creating that
	// table (which goose retries on its own).
	openClosed(t, url, nil)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `DROP TABLE deployments, settings, revision, usage, usage_batches, usage_payloads, usage_rollups, usage_backlog,
		keys, events, teams, objects, admin_tokens, audit, admin_sessions;
		DELETE FROM goose_db_version WHERE version_id > 0`); err != nil {
		t.Fatal(err)
	}

	const replicas = 4
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			st, err := store.Open(t.Context(), url, store.Options{Logger: testLogger(t)})
			if err == nil {
				err = st.Close()
			}
			errs <- err
		}()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
	}
}
