package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/store"
)

// object is a file object of key at usageDay+at.
func object(id, key string, at time.Duration) store.Object {
	return store.Object{
		ID: id, Kind: store.KindFile, KeyID: key, TeamID: "team-" + key, Deployment: "dep-a",
		UpstreamID: "file-up-" + id, Purpose: "batch", Status: "processed",
		Data: `{"id":"` + id + `","object":"file"}`, CreatedAt: usageDay.Add(at),
	}
}

func mustPutObject(t *testing.T, st store.Store, o store.Object) {
	t.Helper()
	if err := st.PutObject(t.Context(), o); err != nil {
		t.Fatalf("PutObject(%q): %v", o.ID, err)
	}
}

func objectIDs(t *testing.T, st store.Store, q store.ObjectQuery) []string {
	t.Helper()
	os, err := st.ListObjects(t.Context(), q)
	if err != nil {
		t.Fatalf("ListObjects(%+v): %v", q, err)
	}
	ids := []string{}
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

// objectsRoundTrip stores an object, reads it back, updates it (which
// keeps its owner, deployment and creation time) and deletes it.
func (s suite) objectsRoundTrip(t *testing.T) {
	st := s.store(t, nil)
	o := object("file-1", "key-a", time.Hour)
	o.EventID, o.Attendee = "ev-1", "ada@example.com"
	mustPutObject(t, st, o)
	got, err := st.GetObject(t.Context(), "file-1")
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	want := o
	want.UpdatedAt = got.UpdatedAt
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("GetObject (-want +got):\n%s", diff)
	}

	upd := o
	upd.KeyID, upd.Deployment, upd.CreatedAt = "key-b", "dep-b", usageDay
	upd.Status, upd.Data, upd.Done = "deleted?", `{"v":2}`, true
	mustPutObject(t, st, upd)
	got, err = st.GetObject(t.Context(), "file-1")
	if err != nil {
		t.Fatalf("GetObject after update: %v", err)
	}
	if got.KeyID != "key-a" || got.Deployment != "dep-a" || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Errorf("update changed owner/deployment/created: got %q %q %v, want key-a dep-a %v", got.KeyID, got.Deployment, got.CreatedAt, o.CreatedAt)
	}
	if got.Status != "deleted?" || got.Data != `{"v":2}` || !got.Done {
		t.Errorf("update: got status %q data %q done %v, want the new ones", got.Status, got.Data, got.Done)
	}

	if err := st.DeleteObject(t.Context(), "file-1"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if _, err := st.GetObject(t.Context(), "file-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject after delete: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteObject(t.Context(), "file-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteObject twice: got %v, want ErrNotFound", err)
	}
	if err := st.PutObject(t.Context(), store.Object{ID: "x"}); err == nil {
		t.Error("PutObject without kind, key, deployment: got nil error")
	}
}

// objectsList pages through one key's objects as OpenAI lists do.
func (s suite) objectsList(t *testing.T) {
	st := s.store(t, nil)
	for i, id := range []string{"f-1", "f-2", "f-3", "f-4"} {
		mustPutObject(t, st, object(id, "key-a", time.Duration(i)*time.Minute))
	}
	// Same creation time: the id breaks the tie.
	mustPutObject(t, st, object("f-5a", "key-a", 10*time.Minute))
	mustPutObject(t, st, object("f-5b", "key-a", 10*time.Minute))
	g1 := object("g-1", "key-b", 5*time.Minute)
	g1.Deployment = "dep-b"
	mustPutObject(t, st, g1)
	other := object("up-1", "key-a", 6*time.Minute)
	other.Kind, other.Purpose = store.KindUpload, ""
	mustPutObject(t, st, other)
	asst := object("f-6", "key-a", 7*time.Minute)
	asst.Purpose = "assistants"
	mustPutObject(t, st, asst)

	files := store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Purpose: "batch"}
	tests := []struct {
		name string
		q    store.ObjectQuery
		want []string
	}{
		{"newest first", files, []string{"f-5b", "f-5a", "f-4", "f-3", "f-2", "f-1"}},
		{"limit", store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Purpose: "batch", Limit: 2}, []string{"f-5b", "f-5a"}},
		{"after tie", store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Purpose: "batch", After: "f-5b", Limit: 2}, []string{"f-5a", "f-4"}},
		{"after", store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Purpose: "batch", After: "f-3"}, []string{"f-2", "f-1"}},
		{"ascending", store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Purpose: "batch", Ascending: true, After: "f-2"}, []string{"f-3", "f-4", "f-5a", "f-5b"}},
		{"unknown after", store.ObjectQuery{KeyID: "key-a", After: "nope"}, []string{}},
		{"any purpose", store.ObjectQuery{KeyID: "key-a", Kind: store.KindFile, Limit: 3}, []string{"f-5b", "f-5a", "f-6"}},
		{"other key", store.ObjectQuery{KeyID: "key-b"}, []string{"g-1"}},
		{"uploads", store.ObjectQuery{Kind: store.KindUpload}, []string{"up-1"}},
		{"on a deployment", store.ObjectQuery{Deployment: "dep-b"}, []string{"g-1"}},
	}
	for _, tc := range tests {
		if got := objectIDs(t, st, tc.q); !gocmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// objectsPending lists the objects not done, and ClaimCharge says yes to
// exactly one of many concurrent callers on two handles.
func (s suite) objectsPending(t *testing.T) {
	a := s.store(t, nil)
	b := s.store(t, nil)
	run := object("batch-1", "key-a", 0)
	run.Kind = store.KindBatch
	fin := object("batch-2", "key-a", time.Minute)
	fin.Kind, fin.Done = store.KindBatch, true
	mustPutObject(t, a, run)
	mustPutObject(t, a, fin)
	if got, want := objectIDs(t, b, store.ObjectQuery{Kind: store.KindBatch, Pending: true}), []string{"batch-1"}; !gocmp.Equal(got, want) {
		t.Errorf("pending: got %v, want %v", got, want)
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := a
			if i%2 == 1 {
				st = b
			}
			ok, err := st.ClaimCharge(t.Context(), "batch-2")
			if err != nil {
				t.Errorf("ClaimCharge: %v", err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("ClaimCharge winners: got %d, want 1", wins)
	}
	// A later put keeps the charge.
	mustPutObject(t, a, fin)
	if ok, err := b.ClaimCharge(t.Context(), "batch-2"); err != nil || ok {
		t.Errorf("ClaimCharge after put: got %v, %v, want false, nil", ok, err)
	}
	if ok, err := b.ClaimCharge(t.Context(), "no-such"); err != nil || ok {
		t.Errorf("ClaimCharge of unknown id: got %v, %v, want false, nil", ok, err)
	}
}
