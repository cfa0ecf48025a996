package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spillwayhq/spillway/internal/store"
)

func (s suite) revision(t *testing.T) {
	st := s.store(t, newKey())
	ctx := t.Context()
	rev := revision(t, st)

	// changed asserts that the revision grew; unchanged that it did not.
	changed := func(what string) {
		t.Helper()
		next := revision(t, st)
		if next <= rev {
			t.Errorf("revision after %s = %d, want more than %d", what, next, rev)
		}
		rev = next
	}
	unchanged := func(what string) {
		t.Helper()
		if next := revision(t, st); next != rev {
			t.Errorf("revision after %s = %d, want it unchanged at %d", what, next, rev)
		}
	}

	mustCreate(t, st, sample("r1"))
	changed("create")
	if _, err := st.UpdateDeployment(ctx, sample("r1")); err != nil {
		t.Fatalf("UpdateDeployment: %v", err)
	}
	changed("update")

	if _, err := st.ListDeployments(ctx); err != nil {
		t.Fatalf("ListDeployments: %v", err)
	}
	if _, err := st.GetDeployment(ctx, "r1"); err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	revision(t, st)
	unchanged("reads")

	// These fail; Conflict and NotFound check how.
	st.CreateDeployment(ctx, sample("r1"))
	unchanged("a create that conflicted")
	st.UpdateDeployment(ctx, sample("missing"))
	unchanged("an update of a missing deployment")
	st.DeleteDeployment(ctx, "missing")
	unchanged("a delete of a missing deployment")

	if err := st.DeleteDeployment(ctx, "r1"); err != nil {
		t.Fatalf("DeleteDeployment: %v", err)
	}
	changed("delete")
}

// replicas checks that two handles on one database, like two gateway
// replicas, see each other's writes and agree on the revision.
func (s suite) replicas(t *testing.T) {
	key := newKey()
	a, b := s.store(t, key), s.store(t, key)
	ctx := t.Context()

	created := mustCreate(t, a, sample("shared"))
	got, err := b.GetDeployment(ctx, "shared")
	if err != nil {
		t.Fatalf("replica b GetDeployment: %v", err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("replica b sees (-want +got):\n%s", diff)
	}
	if ra, rb := revision(t, a), revision(t, b); ra != rb {
		t.Errorf("revisions after a's create: a %d, b %d; want equal", ra, rb)
	}

	before := revision(t, a)
	upd := sample("shared")
	upd.Weight = 9
	if _, err := b.UpdateDeployment(ctx, upd); err != nil {
		t.Fatalf("replica b UpdateDeployment: %v", err)
	}
	if after := revision(t, a); after <= before {
		t.Errorf("replica a's revision after b's update = %d, want more than %d", after, before)
	}
	if got, err := a.GetDeployment(ctx, "shared"); err != nil || got.Weight != 9 {
		t.Errorf("replica a sees weight %d, %v; want 9, nil", got.Weight, err)
	}
}

// reopen checks that a restart finds the data and the revision it left.
func (s suite) reopen(t *testing.T) {
	key := newKey()
	first := s.open(t, key)
	created := mustCreate(t, first, sample("persisted"))
	if err := first.SetSetting(t.Context(), "k", "v"); err != nil {
		t.Fatalf("SetSetting: %v", err)
	}
	rev := revision(t, first)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := s.store(t, key)
	got, err := second.GetDeployment(t.Context(), "persisted")
	if err != nil {
		t.Fatalf("GetDeployment after reopen: %v", err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GetDeployment after reopen (-want +got):\n%s", diff)
	}
	if v, err := second.Setting(t.Context(), "k"); err != nil || v != "v" {
		t.Errorf("Setting after reopen = %q, %v; want \"v\", nil", v, err)
	}
	if got := revision(t, second); got != rev {
		t.Errorf("revision after reopen = %d, want %d", got, rev)
	}
}

// concurrentWriters creates from many goroutines through two handles, so
// writers contend within a process and across processes (or replicas).
func (s suite) concurrentWriters(t *testing.T) {
	const writers = 20
	key := newKey()
	handles := []store.Store{s.store(t, key), s.store(t, key)}
	st := handles[0]
	before := revision(t, st)

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			h := handles[i%len(handles)]
			_, err := h.CreateDeployment(t.Context(), sample(fmt.Sprintf("w%02d", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent CreateDeployment: %v", err)
		}
	}

	list, err := st.ListDeployments(t.Context())
	if err != nil {
		t.Fatalf("ListDeployments: %v", err)
	}
	if len(list) != writers {
		t.Errorf("ListDeployments after %d concurrent creates = %d deployments", writers, len(list))
	}
	if got := revision(t, st); got != before+writers {
		t.Errorf("revision after %d creates = %d, want %d", writers, got, before+writers)
	}
}

func (s suite) pingClose(t *testing.T) {
	st := s.open(t, nil)
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Ping(t.Context()); err == nil {
		t.Error("Ping after Close: got nil error")
	}
	if _, err := st.ListDeployments(t.Context()); err == nil {
		t.Error("ListDeployments after Close: got nil error")
	}
}
