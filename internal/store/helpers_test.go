package store_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

// opener adapts newDB, which makes a fresh database and returns its URL,
// to storetest.Run: the first call for a t makes the database, later calls
// for the same t open another handle on it.
func opener(newDB func(t *testing.T) string) func(t *testing.T, key []byte) store.Store {
	var (
		mu   sync.Mutex
		urls = map[*testing.T]string{}
	)
	return func(t *testing.T, key []byte) store.Store {
		t.Helper()
		mu.Lock()
		url, ok := urls[t]
		if !ok {
			url = newDB(t)
			urls[t] = url
			t.Cleanup(func() {
				mu.Lock()
				delete(urls, t)
				mu.Unlock()
			})
		}
		mu.Unlock()
		return open(t, url, key)
	}
}

// open opens url or fails the test; the caller closes the Store.
func open(t testing.TB, url string, key []byte) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url, store.Options{SecretKey: key, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

// openClosed opens url and closes the Store when t ends.
func openClosed(t testing.TB, url string, key []byte) store.Store {
	t.Helper()
	st := open(t, url, key)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// testLogger writes to a test's output, shown when it fails; benchmarks
// discard it so their results stay readable.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}
