package catalog

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

// countingStore counts full reads of the deployments.
type countingStore struct {
	store.Store
	lists atomic.Int64
}

func (s *countingStore) ListDeployments(ctx context.Context) ([]store.Deployment, error) {
	s.lists.Add(1)
	return s.Store.ListDeployments(ctx)
}

// TestReloadCoalesces: Reload calls that queue up behind a running reload
// are all served by the next one, not one reload each; and a call made
// after a reload began still gets a reload of its own.
func TestReloadCoalesces(t *testing.T) {
	st := &countingStore{Store: openStore(t, filepath.Join(t.TempDir(), "s.db"))}
	c := New(st, nil, newRouter(t), nil)
	ctx := context.Background()

	c.mu.Lock() // a reload in progress
	var wg sync.WaitGroup
	const waiting = 20
	for range waiting {
		wg.Go(func() {
			if err := c.Reload(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	for c.asked.Load() < waiting {
		runtime.Gosched()
	}
	// A change made while they wait must be in the table they all get.
	if _, err := st.CreateDeployment(ctx, stored("late", "gpt-4o", "https://late.example.com")); err != nil {
		t.Fatal(err)
	}
	c.mu.Unlock()
	wg.Wait()
	if got, want := st.lists.Load(), int64(1); got != want {
		t.Errorf("reloads for %d queued calls = %d, want %d", waiting, got, want)
	}
	if got := ids(c.router); len(got) != 1 || got[0] != "late" {
		t.Errorf("routed deployments = %v, want [late]", got)
	}

	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := st.lists.Load(), int64(2); got != want {
		t.Errorf("reloads after a later call = %d, want %d", got, want)
	}
}
