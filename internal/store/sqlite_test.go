package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/store/storetest"
)

// newSQLite returns the URL of a fresh SQLite file in t's temp dir.
func newSQLite(t *testing.T) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "spillway.db")
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, opener(newSQLite))
}

func TestSQLiteMigrations(t *testing.T) {
	testMigrations(t, newSQLite)
}

// TestSQLitePragmas checks that the DSN pragmas took effect on both pools.
func TestSQLitePragmas(t *testing.T) {
	st := openClosed(t, newSQLite(t), nil)
	for _, tc := range []struct{ pool, pragma, want string }{
		{"write", "journal_mode", "wal"},
		{"read", "journal_mode", "wal"},
		{"write", "busy_timeout", "5000"},
		{"read", "busy_timeout", "5000"},
		{"write", "foreign_keys", "1"},
		{"read", "foreign_keys", "1"},
		{"write", "synchronous", "1"}, // NORMAL
		{"read", "synchronous", "1"},
		{"write", "query_only", "0"},
		{"read", "query_only", "1"},
	} {
		got, err := store.SQLitePragma(t.Context(), st, tc.pool, tc.pragma)
		if err != nil || got != tc.want {
			t.Errorf("%s pool: PRAGMA %s = %q, %v; want %q", tc.pool, tc.pragma, got, err, tc.want)
		}
	}
}

// TestSQLiteRelativePath checks that sqlite://name.db is relative to the
// working directory.
func TestSQLiteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	openClosed(t, "sqlite://data.db", nil)
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err != nil {
		t.Errorf("sqlite://data.db did not create data.db in the working directory: %v", err)
	}
}

// TestSQLiteFileIsPrivate checks that a new database file is readable by
// its owner only: it holds encrypted keys and the admin token's hash.
func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spillway.db")
	openClosed(t, "sqlite://"+path, nil)
	for _, name := range []string{path, path + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode = %v, want -rw-------", filepath.Base(name), mode)
		}
	}
}

// TestTimestamps checks that CreatedAt and UpdatedAt come from
// Options.Now, in UTC at millisecond precision, and that an update keeps
// CreatedAt.
func TestTimestamps(t *testing.T) {
	ctx := t.Context()
	est := time.FixedZone("EST", -5*3600)
	now := time.Date(2026, 3, 1, 9, 30, 0, 123_456_789, est)
	st, err := store.Open(ctx, newSQLite(t), store.Options{Logger: testLogger(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	created, err := st.CreateDeployment(ctx, store.Deployment{ID: "d", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	// Compared with ==, which also checks that the location is UTC.
	want := time.Date(2026, 3, 1, 14, 30, 0, 123_000_000, time.UTC)
	if created.CreatedAt != want || created.UpdatedAt != want {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v; want %v for both", created.CreatedAt, created.UpdatedAt, want)
	}

	now = now.Add(time.Hour)
	updated, err := st.UpdateDeployment(ctx, store.Deployment{ID: "d", Model: "m2"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetDeployment(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.Deployment{updated, got} {
		if d.CreatedAt != want || d.UpdatedAt != want.Add(time.Hour) {
			t.Errorf("after update: CreatedAt, UpdatedAt = %v, %v; want %v, %v", d.CreatedAt, d.UpdatedAt, want, want.Add(time.Hour))
		}
	}
}

func BenchmarkListDeployments(b *testing.B) {
	st := openClosed(b, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"), make([]byte, 32))
	for i := range 100 {
		d := store.Deployment{
			ID: fmt.Sprintf("deployment-%03d", i), Model: "gpt-4o", Provider: "azure",
			Endpoint: "https://eastus.example.openai.azure.com", APIKey: "sk-bench-key",
			Weight: 1, Active: true, ModelInfo: map[string]any{"max_tokens": 4096},
		}
		if _, err := st.CreateDeployment(b.Context(), d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		list, err := st.ListDeployments(b.Context())
		if err != nil || len(list) != 100 {
			b.Fatalf("ListDeployments = %d, %v", len(list), err)
		}
	}
}

func BenchmarkRevision(b *testing.B) {
	st := openClosed(b, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Revision(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
