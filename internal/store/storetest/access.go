package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spillwayhq/spillway/internal/store"
)

// hashOf is the SHA-256 of s, as the store keeps key and code hashes.
func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// cet is a zone other than UTC, to check that times come back in UTC.
var cet = time.FixedZone("CET", 3600)

// sampleKey is a key with every field set; times have nanoseconds and a
// zone the store drops.
func sampleKey(id string) store.Key {
	return store.Key{
		ID:           id,
		Hash:         hashOf("sk-" + id),
		Prefix:       "sk-" + id[:min(len(id), 4)],
		Name:         "key " + id,
		Owner:        "ada@example.com",
		Team:         "research",
		TeamID:       "team-research",
		Models:       []string{"gpt-4o", "gpt-4o-mini"},
		RPM:          60,
		TPM:          90_000,
		MaxTokens:    4096,
		MaxParallel:  3,
		BudgetTokens: 1_000_000,
		BudgetCost:   12.5,
		BudgetPeriod: "month",
		ExpiresAt:    time.Date(2027, 1, 2, 3, 4, 5, 678_912_345, cet),
		RevokedAt:    time.Date(2026, 6, 1, 12, 0, 0, 1_000_000, cet),
		LogPayloads:  true,
		Metadata: map[string]any{
			"cost_center": "cc-42",
			"seats":       3.0,
			"tags":        []any{"a", "b"},
			"nested":      map[string]any{"ok": true, "none": nil},
		},
		Generation: 2,
	}
}

// mustCreateSampleTeam creates the team sampleKey is in.
func mustCreateSampleTeam(t *testing.T, st store.Store) {
	t.Helper()
	if _, err := st.CreateTeam(t.Context(), store.Team{ID: "team-research"}); err != nil {
		t.Fatalf("CreateTeam: %v", err)
	}
}

// attendeeKey is an attendee's key with only what an attendee key needs.
func attendeeKey(id, eventID, attendee string) store.Key {
	return store.Key{ID: id, Hash: hashOf("sk-" + id), EventID: eventID, Attendee: attendee}
}

// sampleEvent is an event with every field set.
func sampleEvent(id string, start time.Time) store.Event {
	return store.Event{
		ID:              id,
		Name:            "Workshop " + id,
		Description:     "# Welcome\n\nBring a *laptop*.",
		Start:           start,
		End:             start.Add(8 * time.Hour),
		TimeZone:        "Europe/Berlin",
		MaxTokenCap:     2048,
		DailyRequestCap: 500,
		Models:          []string{"gpt-4o-mini"},
		OrganizerName:   "Grace",
		OrganizerEmail:  "grace@example.com",
		URL:             "https://example.com/" + id,
		URLText:         "Agenda",
		SharedCodeHash:  hashOf("code-" + id),
		Active:          true,
		LogPayloads:     true,
	}
}

// storedTime is t as the store returns it: UTC, to the millisecond.
func storedTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

func mustCreateKey(t *testing.T, st store.Store, k store.Key) store.Key {
	t.Helper()
	got, err := st.CreateKey(t.Context(), k)
	if err != nil {
		t.Fatalf("CreateKey(%q): %v", k.ID, err)
	}
	return got
}

func mustCreateEvent(t *testing.T, st store.Store, e store.Event) store.Event {
	t.Helper()
	got, err := st.CreateEvent(t.Context(), e)
	if err != nil {
		t.Fatalf("CreateEvent(%q): %v", e.ID, err)
	}
	return got
}

func mustListKeys(t *testing.T, st store.Store, f store.KeyFilter) []store.Key {
	t.Helper()
	got, err := st.ListKeys(t.Context(), f)
	if err != nil {
		t.Fatalf("ListKeys(%+v): %v", f, err)
	}
	return got
}

func keyIDs(keys []store.Key) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// checkUTC fails t for every non-zero time not in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v is in %v, want UTC", what, tm, tm.Location())
		}
	}
}

// keysRoundTrip stores a key with every field set and reads it back
// through every getter.
func (s suite) keysRoundTrip(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateSampleTeam(t, st)
	in := sampleKey("k1")
	created := mustCreateKey(t, st, in)

	if created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v; want equal and non-zero", created.CreatedAt, created.UpdatedAt)
	}
	want := in
	want.ExpiresAt, want.RevokedAt = storedTime(in.ExpiresAt), storedTime(in.RevokedAt)
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, created.UpdatedAt
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateKey returned (-want +got):\n%s", diff)
	}

	get := func(name string, fn func() (store.Key, error)) {
		t.Helper()
		got, err := fn()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		checkUTC(t, name, got.ExpiresAt, got.RevokedAt, got.CreatedAt, got.UpdatedAt)
	}
	get("GetKey", func() (store.Key, error) { return st.GetKey(ctx, in.ID) })
	get("KeyByHash", func() (store.Key, error) { return st.KeyByHash(ctx, in.Hash) })
	list := mustListKeys(t, st, store.KeyFilter{})
	if diff := cmp.Diff([]store.Key{want}, list); diff != "" {
		t.Errorf("ListKeys (-want +got):\n%s", diff)
	}
}

// keysZeroValue stores keys with every optional field empty: nothing is
// invented on the way through the database.
func (s suite) keysZeroValue(t *testing.T) {
	st := s.store(t, nil)
	tests := []struct {
		name string
		in   store.Key
	}{
		{"nil", store.Key{ID: "bare", Hash: hashOf("bare")}},
		{"empty", store.Key{ID: "empty", Hash: hashOf("empty"), Models: []string{}, Metadata: map[string]any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := mustCreateKey(t, st, tc.in)
			got, err := st.GetKey(t.Context(), tc.in.ID)
			if err != nil {
				t.Fatalf("GetKey: %v", err)
			}
			want := store.Key{ID: tc.in.ID, Hash: tc.in.Hash, CreatedAt: created.CreatedAt, UpdatedAt: created.UpdatedAt}
			// No cmpopts.EquateEmpty: nil must come back as nil.
			for name, k := range map[string]store.Key{"CreateKey": created, "GetKey": got} {
				if diff := cmp.Diff(want, k); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
				if k.Models != nil || k.Metadata != nil {
					t.Errorf("%s: Models, Metadata = %#v, %#v; want nil, nil", name, k.Models, k.Metadata)
				}
				if !k.ExpiresAt.IsZero() || !k.RevokedAt.IsZero() {
					t.Errorf("%s: ExpiresAt, RevokedAt = %v, %v; want zero", name, k.ExpiresAt, k.RevokedAt)
				}
			}
		})
	}
}

// keysFilter lists all keys or one event's, in byte order of id.
func (s suite) keysFilter(t *testing.T) {
	st := s.store(t, nil)
	for _, k := range []store.Key{
		attendeeKey("b-ada", "ev-b", "ada"),
		attendeeKey("a-grace", "ev-a", "grace"),
		attendeeKey("a-ada", "ev-a", "ada"),
		attendeeKey("A-zed", "ev-a", "zed"),
		{ID: "plain", Hash: hashOf("plain")},
		{ID: "_plain", Hash: hashOf("_plain")},
	} {
		mustCreateKey(t, st, k)
	}
	tests := []struct {
		filter store.KeyFilter
		want   []string
	}{
		// Byte order: "A" < "_" < "a".
		{store.KeyFilter{}, []string{"A-zed", "_plain", "a-ada", "a-grace", "b-ada", "plain"}},
		{store.KeyFilter{EventID: "ev-a"}, []string{"A-zed", "a-ada", "a-grace"}},
		{store.KeyFilter{EventID: "ev-b"}, []string{"b-ada"}},
		{store.KeyFilter{EventID: "ev-none"}, nil},
	}
	for _, tc := range tests {
		got := keyIDs(mustListKeys(t, st, tc.filter))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ListKeys(%+v) ids (-want +got):\n%s", tc.filter, diff)
		}
	}
}

// attendeeKeys finds an attendee's key by event and attendee, and never a
// key without an event.
func (s suite) attendeeKeys(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	want := mustCreateKey(t, st, attendeeKey("a-ada", "ev-a", "ada"))
	mustCreateKey(t, st, attendeeKey("b-ada", "ev-b", "ada"))
	mustCreateKey(t, st, store.Key{ID: "plain", Hash: hashOf("plain")})

	got, err := st.AttendeeKey(ctx, "ev-a", "ada")
	if err != nil {
		t.Fatalf("AttendeeKey(ev-a, ada): %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AttendeeKey(ev-a, ada) (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ event, attendee string }{
		{"ev-a", "grace"},
		{"ev-c", "ada"},
		{"", "ada"},
		// "plain" has event "" and attendee "", but is nobody's key.
		{"", ""},
	} {
		if got, err := st.AttendeeKey(ctx, tc.event, tc.attendee); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AttendeeKey(%q, %q) = key %q, %v; want ErrNotFound", tc.event, tc.attendee, got.ID, err)
		}
	}
}

// keysUpdate replaces every field but CreatedAt.
func (s suite) keysUpdate(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateSampleTeam(t, st)
	created := mustCreateKey(t, st, sampleKey("k1"))
	// The store keeps milliseconds: let UpdatedAt move past CreatedAt.
	time.Sleep(5 * time.Millisecond)

	changed := store.Key{
		ID:         "k1",
		Hash:       hashOf("sk-rotated"),
		Prefix:     "sk-rot",
		Name:       "renamed",
		Models:     []string{"o3"},
		RPM:        1,
		BudgetCost: 0.25,
		ExpiresAt:  time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		EventID:    "ev-1",
		Attendee:   "ada",
		Generation: 3,
		// Ignored: the store keeps the original.
		CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	updated, err := st.UpdateKey(ctx, changed)
	if err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("CreatedAt after update = %v, want the original %v", updated.CreatedAt, created.CreatedAt)
	}
	if !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("UpdatedAt after update = %v, want after the creation's %v", updated.UpdatedAt, created.UpdatedAt)
	}
	want := changed
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, updated.UpdatedAt
	if diff := cmp.Diff(want, updated); diff != "" {
		t.Errorf("UpdateKey returned (-want +got):\n%s", diff)
	}
	got, err := st.GetKey(ctx, "k1")
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetKey after update (-want +got):\n%s", diff)
	}
	// The old hash no longer finds it, the new one does.
	if _, err := st.KeyByHash(ctx, created.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByHash(old hash) error = %v, want ErrNotFound", err)
	}
	if got, err := st.KeyByHash(ctx, changed.Hash); err != nil || got.ID != "k1" {
		t.Errorf("KeyByHash(new hash) = %q, %v; want k1, nil", got.ID, err)
	}
	if got, err := st.AttendeeKey(ctx, "ev-1", "ada"); err != nil || got.ID != "k1" {
		t.Errorf("AttendeeKey(ev-1, ada) after update = %q, %v; want k1, nil", got.ID, err)
	}
}

// keysConflict refuses a second key with a taken id, hash, or event and
// attendee, on create and on update, and leaves the first as it was.
func (s suite) keysConflict(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	first := mustCreateKey(t, st, attendeeKey("first", "ev-1", "ada"))
	other := mustCreateKey(t, st, store.Key{ID: "other", Hash: hashOf("other")})

	tests := []struct {
		name string
		key  store.Key
	}{
		{"same id", store.Key{ID: "first", Hash: hashOf("new")}},
		{"same hash", store.Key{ID: "new", Hash: first.Hash}},
		{"same event and attendee", attendeeKey("new", "ev-1", "ada")},
	}
	for _, tc := range tests {
		if _, err := st.CreateKey(ctx, tc.key); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateKey with the %s error = %v, want ErrConflict", tc.name, err)
		}
		if tc.key.ID == first.ID {
			continue // an update of the same id is no conflict
		}
		upd := tc.key
		upd.ID = other.ID
		if _, err := st.UpdateKey(ctx, upd); !errors.Is(err, store.ErrConflict) {
			t.Errorf("UpdateKey to the %s error = %v, want ErrConflict", tc.name, err)
		}
	}
	for _, want := range []store.Key{first, other} {
		got, err := st.GetKey(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetKey(%q): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("conflicting writes changed %q (-want +got):\n%s", want.ID, diff)
		}
	}

	// What is not a conflict: the attendee at another event, and keys
	// without an event, which all share event "" and attendee "".
	for _, k := range []store.Key{
		attendeeKey("ev-2-ada", "ev-2", "ada"),
		{ID: "plain-1", Hash: hashOf("plain-1")},
		{ID: "plain-2", Hash: hashOf("plain-2")},
	} {
		mustCreateKey(t, st, k)
	}
}

// accessInvalid refuses what the contract rules out before it reaches the
// database.
func (s suite) accessInvalid(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateKey(t, st, store.Key{ID: "k", Hash: hashOf("k")})
	mustCreateEvent(t, st, store.Event{ID: "ev"})
	keys := []struct {
		name string
		key  store.Key
	}{
		{"no hash", store.Key{ID: "k"}},
		{"short hash", store.Key{ID: "k", Hash: hashOf("k")[:31]}},
		{"plaintext as hash", store.Key{ID: "k", Hash: []byte("sk-0123456789abcdef0123456789abcdef")}},
		{"unencodable metadata", store.Key{ID: "k", Hash: hashOf("k"), Metadata: map[string]any{"f": func() {}}}},
	}
	for _, tc := range keys {
		created := tc.key
		created.ID = "new"
		if _, err := st.CreateKey(ctx, created); err == nil {
			t.Errorf("CreateKey with %s: got nil error", tc.name)
		}
		if _, err := st.UpdateKey(ctx, tc.key); err == nil {
			t.Errorf("UpdateKey with %s: got nil error", tc.name)
		}
	}
	if _, err := st.CreateKey(ctx, store.Key{Hash: hashOf("no id")}); err == nil {
		t.Error("CreateKey with an empty id: got nil error")
	}
	if _, err := st.CreateEvent(ctx, store.Event{}); err == nil {
		t.Error("CreateEvent with an empty id: got nil error")
	}
	bad := store.Event{ID: "ev", SharedCodeHash: []byte("the code itself")}
	if _, err := st.UpdateEvent(ctx, bad); err == nil {
		t.Error("UpdateEvent with a shared code hash that is not SHA-256: got nil error")
	}
	if list := mustListKeys(t, st, store.KeyFilter{}); len(list) != 1 {
		t.Errorf("ListKeys after refused writes = %v, want only k", keyIDs(list))
	}
	if got, err := st.GetEvent(ctx, "ev"); err != nil || got.SharedCodeHash != nil {
		t.Errorf("GetEvent after a refused update = hash %x, %v; want none, nil", got.SharedCodeHash, err)
	}
}

// accessNotFound returns ErrNotFound from every getter, update and delete
// of a missing key or event.
func (s suite) accessNotFound(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	// A key and an event that exist, so "not found" is about the id.
	mustCreateKey(t, st, attendeeKey("k", "ev", "ada"))
	mustCreateEvent(t, st, store.Event{ID: "ev"})

	tests := []struct {
		name string
		call func() error
	}{
		{"GetKey", func() error { _, err := st.GetKey(ctx, "missing"); return err }},
		{"KeyByHash", func() error { _, err := st.KeyByHash(ctx, hashOf("missing")); return err }},
		{"KeyByHash(nil)", func() error { _, err := st.KeyByHash(ctx, nil); return err }},
		{"AttendeeKey", func() error { _, err := st.AttendeeKey(ctx, "ev", "missing"); return err }},
		{"UpdateKey", func() error {
			_, err := st.UpdateKey(ctx, store.Key{ID: "missing", Hash: hashOf("missing")})
			return err
		}},
		{"DeleteKey", func() error { return st.DeleteKey(ctx, "missing") }},
		{"GetEvent", func() error { _, err := st.GetEvent(ctx, "missing"); return err }},
		{"UpdateEvent", func() error { _, err := st.UpdateEvent(ctx, store.Event{ID: "missing"}); return err }},
		{"DeleteEvent", func() error { return st.DeleteEvent(ctx, "missing") }},
	}
	for _, tc := range tests {
		if err := tc.call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s(missing) error = %v, want ErrNotFound", tc.name, err)
		}
	}

	if err := st.DeleteKey(ctx, "k"); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if err := st.DeleteKey(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteKey error = %v, want ErrNotFound", err)
	}
	if _, err := st.GetKey(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey after delete error = %v, want ErrNotFound", err)
	}
	if err := st.DeleteEvent(ctx, "ev"); err != nil {
		t.Fatalf("DeleteEvent: %v", err)
	}
	if _, err := st.GetEvent(ctx, "ev"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEvent after delete error = %v, want ErrNotFound", err)
	}
}

// accessRevision moves the revision on every change to a key or an event,
// which is how a revocation reaches the other replicas, and only then.
func (s suite) accessRevision(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateSampleTeam(t, st)
	revoked := sampleKey("k1")
	revoked.RevokedAt = time.Now()
	// fails is a write that must fail; Conflict and NotFound check how.
	fails := func(call func() error) func() error {
		return func() error {
			if call() == nil {
				return errors.New("got nil error, want a failure")
			}
			return nil
		}
	}
	steps := []struct {
		name    string
		call    func() error
		changes bool
	}{
		{"CreateKey", func() error { _, err := st.CreateKey(ctx, sampleKey("k1")); return err }, true},
		{"UpdateKey (revoke)", func() error { _, err := st.UpdateKey(ctx, revoked); return err }, true},
		{"CreateEvent", func() error { _, err := st.CreateEvent(ctx, store.Event{ID: "ev"}); return err }, true},
		{"UpdateEvent", func() error { _, err := st.UpdateEvent(ctx, store.Event{ID: "ev", Active: true}); return err }, true},
		{"CreateKey (attendee)", func() error { _, err := st.CreateKey(ctx, attendeeKey("k2", "ev", "ada")); return err }, true},

		{"GetKey", func() error { _, err := st.GetKey(ctx, "k1"); return err }, false},
		{"KeyByHash", func() error { _, err := st.KeyByHash(ctx, revoked.Hash); return err }, false},
		{"AttendeeKey", func() error { _, err := st.AttendeeKey(ctx, "ev", "ada"); return err }, false},
		{"ListKeys", func() error { _, err := st.ListKeys(ctx, store.KeyFilter{}); return err }, false},
		{"GetEvent", func() error { _, err := st.GetEvent(ctx, "ev"); return err }, false},
		{"ListEvents", func() error { _, err := st.ListEvents(ctx); return err }, false},

		{"a CreateKey that conflicted", fails(func() error { _, err := st.CreateKey(ctx, sampleKey("k1")); return err }), false},
		{"an UpdateKey of a missing key", fails(func() error { _, err := st.UpdateKey(ctx, sampleKey("missing")); return err }), false},
		{"a DeleteKey of a missing key", fails(func() error { return st.DeleteKey(ctx, "missing") }), false},
		{"a CreateEvent that conflicted", fails(func() error { _, err := st.CreateEvent(ctx, store.Event{ID: "ev"}); return err }), false},
		{"an UpdateEvent of a missing event", fails(func() error { _, err := st.UpdateEvent(ctx, store.Event{ID: "missing"}); return err }), false},
		{"a DeleteEvent of a missing event", fails(func() error { return st.DeleteEvent(ctx, "missing") }), false},

		{"DeleteKey", func() error { return st.DeleteKey(ctx, "k1") }, true},
		// Also removes k2.
		{"DeleteEvent", func() error { return st.DeleteEvent(ctx, "ev") }, true},
	}

	rev := revision(t, st)
	for _, step := range steps {
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		next := revision(t, st)
		switch {
		case step.changes && next <= rev:
			t.Errorf("revision after %s = %d, want more than %d", step.name, next, rev)
		case !step.changes && next != rev:
			t.Errorf("revision after %s = %d, want it unchanged at %d", step.name, next, rev)
		}
		rev = next
	}
}

// deleteEvent removes the event's attendee keys with it, and no others.
func (s suite) deleteEvent(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateEvent(t, st, store.Event{ID: "ev-a"})
	mustCreateEvent(t, st, store.Event{ID: "ev-b"})
	for _, k := range []store.Key{
		attendeeKey("a-1", "ev-a", "ada"),
		attendeeKey("a-2", "ev-a", "grace"),
		attendeeKey("b-1", "ev-b", "ada"),
		// Its event was never stored.
		attendeeKey("orphan", "ev-gone", "ada"),
		{ID: "plain", Hash: hashOf("plain")},
	} {
		mustCreateKey(t, st, k)
	}
	all := []string{"a-1", "a-2", "b-1", "orphan", "plain"}

	// A missing event removes nothing, even with keys naming it, nor does
	// "", the event of keys that have none.
	for _, id := range []string{"ev-gone", ""} {
		if err := st.DeleteEvent(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteEvent(%q) error = %v, want ErrNotFound", id, err)
		}
		if diff := cmp.Diff(all, keyIDs(mustListKeys(t, st, store.KeyFilter{}))); diff != "" {
			t.Errorf("keys after DeleteEvent(%q) (-want +got):\n%s", id, diff)
		}
	}

	if err := st.DeleteEvent(ctx, "ev-a"); err != nil {
		t.Fatalf("DeleteEvent(ev-a): %v", err)
	}
	if diff := cmp.Diff([]string{"b-1", "orphan", "plain"}, keyIDs(mustListKeys(t, st, store.KeyFilter{}))); diff != "" {
		t.Errorf("keys after DeleteEvent(ev-a) (-want +got):\n%s", diff)
	}
	if _, err := st.AttendeeKey(ctx, "ev-a", "ada"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AttendeeKey(ev-a, ada) after DeleteEvent error = %v, want ErrNotFound", err)
	}
	events, err := st.ListEvents(ctx)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(events) != 1 || events[0].ID != "ev-b" {
		t.Errorf("ListEvents after DeleteEvent(ev-a) = %d events, want only ev-b", len(events))
	}
}

// accessReplicas checks that a key written through one handle, and its
// revocation through another, reach the other handle.
func (s suite) accessReplicas(t *testing.T) {
	a, b := s.store(t, nil), s.store(t, nil)
	ctx := t.Context()

	mustCreateSampleTeam(t, a)
	created := mustCreateKey(t, a, sampleKey("shared"))
	got, err := b.KeyByHash(ctx, created.Hash)
	if err != nil {
		t.Fatalf("replica b KeyByHash: %v", err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("replica b sees (-want +got):\n%s", diff)
	}

	before := revision(t, a)
	revoke := created
	revoke.RevokedAt = time.Now()
	if _, err := b.UpdateKey(ctx, revoke); err != nil {
		t.Fatalf("replica b UpdateKey: %v", err)
	}
	if after := revision(t, a); after <= before {
		t.Errorf("replica a's revision after b's revocation = %d, want more than %d", after, before)
	}
	got, err = a.GetKey(ctx, "shared")
	if err != nil {
		t.Fatalf("replica a GetKey: %v", err)
	}
	if want := storedTime(revoke.RevokedAt); !got.RevokedAt.Equal(want) {
		t.Errorf("replica a sees RevokedAt %v, want %v", got.RevokedAt, want)
	}
}

// eventsRoundTrip stores events with every field set and with none, and
// updates one.
func (s suite) eventsRoundTrip(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	start := time.Date(2026, 9, 14, 9, 0, 0, 123_456_789, cet)
	full := sampleEvent("ev-full", start)
	tests := []struct {
		name string
		in   store.Event
		want store.Event
	}{
		{"full", full, func() store.Event {
			e := full
			e.Start, e.End = storedTime(full.Start), storedTime(full.End)
			return e
		}()},
		{"zero", store.Event{ID: "ev-zero"}, store.Event{ID: "ev-zero"}},
		{"empty", store.Event{ID: "ev-empty", Models: []string{}, SharedCodeHash: []byte{}}, store.Event{ID: "ev-empty"}},
	}
	for _, tc := range tests {
		created := mustCreateEvent(t, st, tc.in)
		if created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
			t.Errorf("%s: CreatedAt, UpdatedAt = %v, %v; want equal and non-zero", tc.name, created.CreatedAt, created.UpdatedAt)
		}
		want := tc.want
		want.CreatedAt, want.UpdatedAt = created.CreatedAt, created.UpdatedAt
		got, err := st.GetEvent(ctx, tc.in.ID)
		if err != nil {
			t.Fatalf("%s: GetEvent: %v", tc.name, err)
		}
		// No cmpopts.EquateEmpty: nil must come back as nil.
		for name, e := range map[string]store.Event{"CreateEvent": created, "GetEvent": got} {
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", tc.name, name, diff)
			}
			checkUTC(t, tc.name+": "+name, e.Start, e.End, e.CreatedAt, e.UpdatedAt)
		}
	}

	if _, err := st.CreateEvent(ctx, sampleEvent("ev-full", start.Add(time.Hour))); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateEvent(duplicate) error = %v, want ErrConflict", err)
	}

	// Update replaces every field but CreatedAt.
	created, err := st.GetEvent(ctx, "ev-full")
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	changed := store.Event{ID: "ev-full", Name: "Renamed", Start: start.Add(24 * time.Hour), CreatedAt: time.Unix(0, 0)}
	updated, err := st.UpdateEvent(ctx, changed)
	if err != nil {
		t.Fatalf("UpdateEvent: %v", err)
	}
	if !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("UpdatedAt after update = %v, want after the creation's %v", updated.UpdatedAt, created.UpdatedAt)
	}
	want := changed
	want.Start = storedTime(changed.Start)
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, updated.UpdatedAt
	got, err := st.GetEvent(ctx, "ev-full")
	if err != nil {
		t.Fatalf("GetEvent after update: %v", err)
	}
	for name, e := range map[string]store.Event{"UpdateEvent": updated, "GetEvent": got} {
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("%s after update (-want +got):\n%s", name, diff)
		}
	}
}

// eventsOrder lists events by start, then by id in byte order; an event
// without a start comes first.
func (s suite) eventsOrder(t *testing.T) {
	st := s.store(t, nil)
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, e := range []store.Event{
		{ID: "late", Start: day.Add(48 * time.Hour)},
		{ID: "b-same", Start: day},
		{ID: "a-same", Start: day},
		{ID: "Z-same", Start: day},
		{ID: "unscheduled"},
		// Before 1970: negative milliseconds.
		{ID: "early", Start: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)},
		{ID: "next", Start: day.Add(time.Millisecond)},
	} {
		mustCreateEvent(t, st, e)
	}
	events, err := st.ListEvents(t.Context())
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.ID)
	}
	want := []string{"unscheduled", "early", "Z-same", "a-same", "b-same", "next", "late"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListEvents ids (-want +got):\n%s", diff)
	}
}
