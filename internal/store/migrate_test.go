package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

// testMigrations checks Open's migrations on databases made by newDB.
func testMigrations(t *testing.T, newDB func(t *testing.T) string) {
	latest, err := store.LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	version := func(t *testing.T, st store.Store) int64 {
		t.Helper()
		v, err := store.SchemaVersion(t.Context(), st)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		return v
	}

	t.Run("FromEmpty", func(t *testing.T) {
		t.Parallel()
		st := openClosed(t, newDB(t), nil)
		if got := version(t, st); got != latest {
			t.Errorf("schema version = %d, want %d", got, latest)
		}
		if rev, err := st.Revision(t.Context()); err != nil || rev != 0 {
			t.Errorf("Revision of a new database = %d, %v; want 0, nil", rev, err)
		}
	})

	t.Run("ReopenIsIdempotent", func(t *testing.T) {
		t.Parallel()
		url := newDB(t)
		st := open(t, url, nil)
		if _, err := st.CreateDeployment(t.Context(), store.Deployment{ID: "kept", Model: "m"}); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			st := open(t, url, nil)
			if got := version(t, st); got != latest {
				t.Errorf("schema version after reopen = %d, want %d", got, latest)
			}
			if _, err := st.GetDeployment(t.Context(), "kept"); err != nil {
				t.Errorf("GetDeployment after reopen: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("SchemaTooNew", func(t *testing.T) {
		t.Parallel()
		url := newDB(t)
		st := open(t, url, nil)
		err := store.StampSchemaVersion(t.Context(), st, latest+1)
		if cerr := st.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			t.Fatalf("StampSchemaVersion: %v", err)
		}

		st, err = store.Open(t.Context(), url, store.Options{Logger: testLogger(t)})
		if err == nil {
			st.Close()
			t.Fatal("Open of a database migrated by a newer binary: got nil error")
		}
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Errorf("Open error = %v, want ErrSchemaTooNew", err)
		}
		for _, v := range []int64{latest + 1, latest} {
			if !strings.Contains(err.Error(), fmt.Sprint(v)) {
				t.Errorf("Open error %q does not name version %d", err, v)
			}
		}
	})
}
