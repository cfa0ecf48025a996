package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/auth"
)

func TestAttendeeIssue(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		ev := e.createEvent(nil)
		path := "/admin/v1/events/" + ev + "/attendees"

		first := e.admin(http.StatusCreated, "POST", path, map[string]any{"attendee": "bob@example.com"}).json(t)
		key := auth.AttendeeKey(e.secret, ev, "bob@example.com", 0)
		keyID, _ := first["key_id"].(string)
		want := map[string]any{
			"event_id": ev, "attendee": "bob@example.com", "key": key, "key_id": keyID,
			"created_at": testNow.Format(time.RFC3339),
		}
		if diff := cmp.Diff(want, first); diff != "" {
			t.Errorf("first issue (-want +got):\n%s", diff)
		}
		e.wantReloads(2) // the event, the key

		// Again, and with the address capitalised and padded, "email" for
		// "attendee": the same key, 200, nothing stored.
		for _, body := range []map[string]any{
			{"attendee": "bob@example.com"},
			{"attendee": "  Bob@Example.COM "},
			{"email": "bob@example.com"},
		} {
			got := e.admin(http.StatusOK, "POST", path, body).json(t)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("issue again with %v (-want +got):\n%s", body, diff)
			}
		}
		e.wantReloads(2)

		// Only the hash is stored, with the event and the attendee.
		stored, err := e.store.GetKey(t.Context(), keyID)
		if err != nil {
			t.Fatalf("GetKey: %v", err)
		}
		h := auth.Hash(key)
		if string(stored.Hash) != string(h[:]) || stored.EventID != ev || stored.Attendee != "bob@example.com" || stored.Prefix != auth.DisplayPrefix(key) {
			t.Errorf("stored key: event %q attendee %q prefix %q, hash matches %v; want %s, bob@example.com, %s, true",
				stored.EventID, stored.Attendee, stored.Prefix, string(stored.Hash) == string(h[:]), ev, auth.DisplayPrefix(key))
		}

		e.clock.Add(time.Minute)
		e.admin(http.StatusCreated, "POST", path, map[string]any{"attendee": "Carol"})
		list := e.admin(http.StatusOK, "GET", path, nil).json(t)
		data, _ := list["data"].([]any)
		if len(data) != 2 {
			t.Fatalf("attendees: %v, want 2", list)
		}
		byName := map[string]any{}
		for _, a := range data {
			m := a.(map[string]any)
			byName[m["attendee"].(string)] = m
		}
		wantBob := map[string]any{"attendee": "bob@example.com", "key_id": keyID, "prefix": auth.DisplayPrefix(key), "status": "active", "created_at": testNow.Format(time.RFC3339)}
		if diff := cmp.Diff(wantBob, byName["bob@example.com"]); diff != "" {
			t.Errorf("listed attendee (-want +got):\n%s", diff)
		}
		if _, ok := byName["Carol"]; !ok {
			t.Errorf("a name keeps its case: want Carol among %v", byName)
		}
		keys := e.admin(http.StatusOK, "GET", "/admin/v1/keys?event="+ev, nil).json(t)["data"].([]any)
		if len(keys) != 2 {
			t.Errorf("GET /admin/v1/keys?event=: %d keys, want 2", len(keys))
		}

		// A revoked key is replaced by the next generation's: a new key.
		e.admin(http.StatusOK, "POST", "/admin/v1/keys/"+keyID+"/revoke", nil)
		if got := e.admin(http.StatusOK, "GET", path, nil).body; !strings.Contains(string(got), `"status":"revoked"`) {
			t.Errorf("attendee list after revoking: %s, want a revoked one", got)
		}
		reissued := e.admin(http.StatusCreated, "POST", path, map[string]any{"attendee": "bob@example.com"}).json(t)
		next := auth.AttendeeKey(e.secret, ev, "bob@example.com", 1)
		if reissued["key"] != next || reissued["key_id"] != keyID {
			t.Errorf("reissued key %v (id %v), want generation 1's key under id %s", auth.DisplayPrefix(reissued["key"].(string)), reissued["key_id"], keyID)
		}
		again := e.admin(http.StatusOK, "POST", path, map[string]any{"attendee": "bob@example.com"}).json(t)
		if again["key"] != next {
			t.Errorf("issue after the reissue: another key, want generation 1's again")
		}
		old := auth.Hash(key)
		if _, err := e.store.KeyByHash(t.Context(), old[:]); err == nil {
			t.Errorf("the revoked key's hash is still stored after the reissue")
		}
		e.wantNoLeak(key, 4) // the first issue and the three agains
	})
}

func TestAttendeeIssueErrors(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	ev := e.createEvent(nil)
	for _, tc := range []struct {
		name      string
		path      string
		body      any
		status    int
		wantCode  string
		wantParam string
	}{
		{"unknown event", "/admin/v1/events/ev_nope/attendees", map[string]any{"attendee": "bob"}, http.StatusNotFound, "event_not_found", "id"},
		{"no attendee", "/admin/v1/events/" + ev + "/attendees", map[string]any{}, http.StatusBadRequest, "invalid_attendee", "attendee"},
		{"blank attendee", "/admin/v1/events/" + ev + "/attendees", map[string]any{"attendee": "  "}, http.StatusBadRequest, "invalid_attendee", "attendee"},
		{"control character", "/admin/v1/events/" + ev + "/attendees", map[string]any{"attendee": "bo\x01b"}, http.StatusBadRequest, "invalid_attendee", "attendee"},
		{"unknown field", "/admin/v1/events/" + ev + "/attendees", map[string]any{"attendee": "bob", "role": "x"}, http.StatusBadRequest, "unknown_field", "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.admin(tc.status, "POST", tc.path, tc.body).err(t)
			if got.Error.Code != tc.wantCode || param(got) != tc.wantParam {
				t.Errorf("got code %q param %q (%s), want %q on %q", got.Error.Code, param(got), got.Error.Message, tc.wantCode, tc.wantParam)
			}
		})
	}
	e.admin(http.StatusNotFound, "GET", "/admin/v1/events/ev_nope/attendees", nil)
}

func TestAttendeeIssueWithoutSecret(t *testing.T) {
	e := newAccessEnv(t, accessSetup{noSecret: true})
	ev := e.createEvent(nil)
	got := e.admin(http.StatusServiceUnavailable, "POST", "/admin/v1/events/"+ev+"/attendees", map[string]any{"attendee": "bob"}).err(t)
	if got.Error.Code != "secret_key_missing" || !strings.Contains(got.Error.Message, "SPILLWAY_SECRET_KEY") {
		t.Errorf("%+v, want secret_key_missing naming SPILLWAY_SECRET_KEY", got.Error)
	}
	e.wantReloads(1) // the event
}
