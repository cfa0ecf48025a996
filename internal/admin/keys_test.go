package admin_test

import (
	"bytes"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/auth"
)

// keyIDPattern is how the gateway spells key ids.
var keyIDPattern = regexp.MustCompile(`^key_[a-z2-7]{16}$`)

func TestKeysCRUD(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		body := map[string]any{
			"name": "team-a", "owner": "ann@example.com", "team": "search",
			"models": []string{"gpt-4o"}, "rpm": 60, "tpm": 100000, "max_tokens": 4096, "max_parallel_requests": 4,
			"budget":     map[string]any{"tokens": 1000000, "cost": 50.0, "period": "month"},
			"expires_at": "2026-12-31T00:00:00Z", "log_payloads": false,
			"metadata": map[string]any{"cost_center": "42"},
		}
		created := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", body).json(t)
		id, _ := created["id"].(string)
		key, _ := created["key"].(string)
		if !keyIDPattern.MatchString(id) {
			t.Errorf("id %q, want key_ and 16 base32 characters", id)
		}
		if !strings.HasPrefix(key, "sk-") || len(key) < 40 {
			t.Fatalf("key %q, want sk- and a long random tail", key)
		}
		now := testNow.Format(time.RFC3339)
		want := map[string]any{
			"id": id, "prefix": auth.DisplayPrefix(key), "name": "team-a",
			"owner": "ann@example.com", "team": "search", "team_id": "", "models": []any{"gpt-4o"},
			"rpm": 60.0, "tpm": 100000.0, "max_tokens": 4096.0, "max_parallel_requests": 4.0,
			"budget":     map[string]any{"tokens": 1000000.0, "cost": 50.0, "period": "month"},
			"expires_at": "2026-12-31T00:00:00Z", "revoked_at": nil, "log_payloads": false,
			"metadata": map[string]any{"cost_center": "42"}, "event_id": "", "attendee": "",
			"status": "active", "created_at": now, "updated_at": now,
		}
		withKey := maps.Clone(want)
		withKey["key"] = key
		if diff := cmp.Diff(withKey, created); diff != "" {
			t.Errorf("POST answer (-want +got):\n%s", diff)
		}
		e.wantReloads(1)

		path := "/admin/v1/keys/" + id
		if diff := cmp.Diff(want, e.admin(http.StatusOK, "GET", path, nil).json(t)); diff != "" {
			t.Errorf("GET answer (-want +got):\n%s", diff)
		}
		list := e.admin(http.StatusOK, "GET", "/admin/v1/keys", nil).json(t)
		if diff := cmp.Diff(map[string]any{"data": []any{want}}, list); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}
		list = e.admin(http.StatusOK, "GET", "/admin/v1/keys?event=ev_none", nil).json(t)
		if diff := cmp.Diff(map[string]any{"data": []any{}}, list); diff != "" {
			t.Errorf("list of another event's keys (-want +got):\n%s", diff)
		}

		// PATCH changes what it names: the budget field by field, and
		// null clears the expiry.
		e.clock.Add(time.Hour)
		later := testNow.Add(time.Hour).Format(time.RFC3339)
		got := e.admin(http.StatusOK, "PATCH", path, map[string]any{
			"rpm": 10, "budget": map[string]any{"period": "week"}, "expires_at": nil, "models": []string{},
		}).json(t)
		want["rpm"], want["expires_at"], want["models"], want["updated_at"] = 10.0, nil, []any{}, later
		want["budget"] = map[string]any{"tokens": 1000000.0, "cost": 50.0, "period": "week"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PATCH answer (-want +got):\n%s", diff)
		}
		// A GET answer sent back unchanged changes nothing.
		got = e.admin(http.StatusOK, "PATCH", path, string(e.admin(http.StatusOK, "GET", path, nil).body)).json(t)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PATCH with a GET answer (-want +got):\n%s", diff)
		}
		e.wantReloads(3)

		// The key still authenticates as the same record: its hash did
		// not change.
		h := auth.Hash(key)
		if k, err := e.store.KeyByHash(t.Context(), h[:]); err != nil || k.ID != id {
			t.Errorf("KeyByHash after PATCH: id %q, err %v; want %s", k.ID, err, id)
		}

		revoked := e.admin(http.StatusOK, "POST", path+"/revoke", nil).json(t)
		want["status"], want["revoked_at"] = "revoked", later
		if diff := cmp.Diff(want, revoked); diff != "" {
			t.Errorf("revoke answer (-want +got):\n%s", diff)
		}
		e.wantReloads(4)
		// Revoking again keeps the first time and changes nothing.
		e.clock.Add(time.Hour)
		if diff := cmp.Diff(want, e.admin(http.StatusOK, "POST", path+"/revoke", nil).json(t)); diff != "" {
			t.Errorf("second revoke (-want +got):\n%s", diff)
		}
		e.wantReloads(4)

		res := e.admin(http.StatusNoContent, "DELETE", path, nil)
		if len(res.body) != 0 {
			t.Errorf("DELETE body %q, want none", res.body)
		}
		e.wantReloads(5)
		if got := e.admin(http.StatusNotFound, "GET", path, nil).err(t); got.Error.Code != "key_not_found" || param(got) != "id" {
			t.Errorf("GET after DELETE: %+v, want key_not_found on id", got.Error)
		}
		e.admin(http.StatusNotFound, "DELETE", path, nil)
		e.admin(http.StatusNotFound, "POST", path+"/revoke", nil)
		e.admin(http.StatusNotFound, "PATCH", path, map[string]any{"rpm": 1})
		e.wantReloads(5)

		// Shown once: only the answer to the POST carries the key.
		e.wantNoLeak(key, 1)
	})
}

func TestKeyDefaults(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	got := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{}).json(t)
	id, _ := got["id"].(string)
	key, _ := got["key"].(string)
	now := testNow.Format(time.RFC3339)
	want := map[string]any{
		"id": id, "key": key, "prefix": auth.DisplayPrefix(key), "name": id, "owner": "", "team": "", "team_id": "",
		"models": []any{}, "rpm": 0.0, "tpm": 0.0, "max_tokens": 0.0, "max_parallel_requests": 0.0,
		"budget":     map[string]any{"tokens": 0.0, "cost": 0.0, "period": ""},
		"expires_at": nil, "revoked_at": nil, "log_payloads": false, "metadata": map[string]any{},
		"event_id": "", "attendee": "", "status": "active", "created_at": now, "updated_at": now,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST {} (-want +got):\n%s", diff)
	}
	// Two keys are two different keys.
	other := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"name": "b"}).json(t)
	if other["key"] == key || other["id"] == id {
		t.Errorf("two creations gave the same key or id")
	}
}

func TestKeyExpires(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	expires := testNow.Add(time.Hour)
	k := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"expires_at": expires.Format(time.RFC3339)}).json(t)
	path := "/admin/v1/keys/" + k["id"].(string)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{expires.Add(-time.Second), "active"},
		{expires, "expired"},
		{expires.Add(time.Hour), "expired"},
	} {
		e.clock.Set(tc.at)
		if got := e.admin(http.StatusOK, "GET", path, nil).json(t)["status"]; got != tc.want {
			t.Errorf("status at %s: %v, want %s", tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
	// PATCH may expire a key at once, on purpose.
	e.clock.Set(testNow)
	got := e.admin(http.StatusOK, "PATCH", path, map[string]any{"expires_at": testNow.Format(time.RFC3339)}).json(t)
	if got["status"] != "expired" {
		t.Errorf("status after PATCH expires_at=now: %v, want expired", got["status"])
	}
}

func TestKeyValidation(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	existing := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"name": "x"}).json(t)["id"].(string)
	for _, tc := range []struct {
		name      string
		method    string // default POST /admin/v1/keys
		body      any
		wantCode  string
		wantParam string
		wantIn    string // in the message
	}{
		{"negative rpm", "", map[string]any{"rpm": -1}, "invalid_key", "rpm", "0 (no limit) or more"},
		{"negative tpm", "", map[string]any{"tpm": -5}, "invalid_key", "tpm", "not -5"},
		{"negative max_tokens", "", map[string]any{"max_tokens": -1}, "invalid_key", "max_tokens", ""},
		{"negative budget tokens", "", map[string]any{"budget": map[string]any{"tokens": -1}}, "invalid_key", "budget.tokens", ""},
		{"negative budget cost", "", map[string]any{"budget": map[string]any{"cost": -0.5}}, "invalid_key", "budget.cost", "US dollars"},
		{"unknown period", "", map[string]any{"budget": map[string]any{"period": "year"}}, "invalid_key", "budget.period", "day, week or month"},
		{"expiry not a time", "", map[string]any{"expires_at": "tomorrow"}, "invalid_key", "expires_at", "RFC 3339"},
		{"expiry a number", "", map[string]any{"expires_at": 5}, "invalid_key", "expires_at", "RFC 3339"},
		{"expiry in the past", "", map[string]any{"expires_at": "2026-01-01T00:00:00Z"}, "invalid_key", "expires_at", "not in the future"},
		{"key given", "", map[string]any{"key": "sk-mine"}, "invalid_key", "key", "generated by the gateway"},
		{"id given", "", map[string]any{"id": "key_mine"}, "invalid_key", "id", "chosen by the gateway"},
		{"event given", "", map[string]any{"event_id": "ev_x"}, "invalid_key", "event_id", "/attendees"},
		{"attendee given", "", map[string]any{"attendee": "bob"}, "invalid_key", "attendee", "/attendees"},
		{"empty model", "", map[string]any{"models": []string{"gpt-4o", " "}}, "invalid_key", "models[1]", "is empty"},
		{"control character", "", map[string]any{"name": "a\x00b"}, "invalid_key", "name", "control characters"},
		{"long name", "", map[string]any{"name": strings.Repeat("n", 300)}, "invalid_key", "name", "limit is 256"},
		{"unknown field", "", map[string]any{"colour": "red"}, "unknown_field", "colour", "GET /admin/v1/keys"},
		{"wrong type", "", map[string]any{"rpm": "sixty"}, "invalid_type", "rpm", "want a number"},
		{"not JSON", "", "{", "invalid_json", "", ""},
		{"two problems, first named", "", map[string]any{"rpm": -1, "tpm": -1}, "invalid_key", "rpm", "tpm:"},
		{"PATCH another id", "PATCH", map[string]any{"id": "key_other"}, "invalid_key", "id", "cannot change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, path := "POST", "/admin/v1/keys"
			if tc.method == "PATCH" {
				method, path = "PATCH", "/admin/v1/keys/"+existing
			}
			got := e.admin(http.StatusBadRequest, method, path, tc.body).err(t)
			if got.Error.Code != tc.wantCode || param(got) != tc.wantParam || !strings.Contains(got.Error.Message, tc.wantIn) {
				t.Errorf("got code %q param %q message %q; want code %q param %q, message containing %q",
					got.Error.Code, param(got), got.Error.Message, tc.wantCode, tc.wantParam, tc.wantIn)
			}
		})
	}
	e.wantReloads(1) // the one creation
	list := e.admin(http.StatusOK, "GET", "/admin/v1/keys", nil)
	if n := bytes.Count(list.body, []byte(`"id"`)); n != 1 {
		t.Errorf("%d keys stored, want 1: a refused body stores nothing", n)
	}
}

func TestKeysNeedAdminToken(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	for _, r := range []request{
		{method: "GET", path: "/admin/v1/keys"},
		{method: "POST", path: "/admin/v1/keys", body: map[string]any{}},
		{method: "GET", path: "/admin/v1/events"},
		{method: "POST", path: "/admin/v1/events/ev_x/attendees", body: map[string]any{"attendee": "bob"}},
		{method: "POST", path: "/api/v1/management/events/add", body: map[string]any{}},
		{method: "GET", path: "/api/v1/management/events/list/all", header: http.Header{"Authorization": {"Bearer wrong"}}},
	} {
		if res := e.send(r); res.code != http.StatusUnauthorized {
			t.Errorf("%s %s without the admin token: status %d, want 401", r.method, r.path, res.code)
		}
	}
}
