package admin_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
)

// roleMatrix is who may call each management route, written out by hand
// so that a change to a route's roles must change this table too. Letters:
// O owner, P operator, G organiser, V viewer. {prefix} is each of the
// seed's two route prefixes.
var roleMatrix = map[string]string{
	"GET /admin/v1/deployments":                 "OPV",
	"POST /admin/v1/deployments":                "OP",
	"GET /admin/v1/deployments/{id}":            "OPV",
	"PATCH /admin/v1/deployments/{id}":          "OP",
	"DELETE /admin/v1/deployments/{id}":         "OP",
	"GET /admin/v1/routing":                     "OPV",
	"GET /admin/v1/usage":                       "OPGV",
	"GET /admin/v1/usage/export":                "OP",
	"GET /admin/v1/payloads":                    "OP",
	"GET /admin/v1/payloads/{request_id}":       "OP",
	"GET /admin/v1/keys":                        "OPV",
	"POST /admin/v1/keys":                       "OP",
	"GET /admin/v1/keys/{id}":                   "OPV",
	"PATCH /admin/v1/keys/{id}":                 "OP",
	"DELETE /admin/v1/keys/{id}":                "OP",
	"POST /admin/v1/keys/{id}/revoke":           "OP",
	"GET /admin/v1/objects":                     "OPV",
	"GET /admin/v1/teams":                       "OPV",
	"POST /admin/v1/teams":                      "OP",
	"GET /admin/v1/teams/{id}":                  "OPV",
	"PATCH /admin/v1/teams/{id}":                "OP",
	"DELETE /admin/v1/teams/{id}":               "OP",
	"GET /admin/v1/teams/{id}/keys":             "OPV",
	"POST /admin/v1/teams/{id}/keys":            "OP",
	"DELETE /admin/v1/teams/{id}/keys/{key_id}": "OP",
	"POST /key/generate":                        "OP",
	"GET /key/info":                             "OPV",
	"POST /key/update":                          "OP",
	"POST /key/delete":                          "OP",
	"GET /key/list":                             "OPV",
	"POST /team/new":                            "OP",
	"GET /team/info":                            "OPV",
	"POST /team/update":                         "OP",
	"GET /team/list":                            "OPV",
	"POST /team/delete":                         "OP",
	"GET /admin/v1/events":                      "OPGV",
	"POST /admin/v1/events":                     "OG",
	"GET /admin/v1/events/{id}":                 "OPGV",
	"PATCH /admin/v1/events/{id}":               "OG",
	"DELETE /admin/v1/events/{id}":              "OG",
	"GET /admin/v1/events/{id}/attendees":       "OPGV",
	"POST /admin/v1/events/{id}/attendees":      "OG",
	"GET /admin/v1/events/{id}/report":          "OPGV",
	"GET /admin/v1/me":                          "OPGV",
	"GET /admin/v1/admin-tokens":                "O",
	"POST /admin/v1/admin-tokens":               "O",
	"DELETE /admin/v1/admin-tokens/{id}":        "O",
	"GET /admin/v1/audit":                       "OPV",
	"GET /health":                               "OPGV",
	"POST /model/new":                           "OP",
	"POST /model/update":                        "OP",
	"POST /model/delete":                        "OP",
	"GET /model/info":                           "OPGV",
	"GET /v1/model/info":                        "OPGV",
	"PATCH {prefix}/modeldeployment/upsert":     "OP",
	"GET {prefix}/modeldeployment/list/{query}": "OPV",
	"POST {prefix}/events/add":                  "OG",
	"GET {prefix}/events/list/{query}":          "OPGV",
	"POST {prefix}/addevent":                    "OG",
	"GET {prefix}/listevents/{query}":           "OPGV",
}

// expandedMatrix is roleMatrix with the seed's prefixes filled in.
func expandedMatrix() map[string]string {
	out := map[string]string{}
	for pattern, who := range roleMatrix {
		if !strings.Contains(pattern, "{prefix}") {
			out[pattern] = who
			continue
		}
		for _, p := range []string{"/api/v1/management", "/v1/api/management"} {
			out[strings.Replace(pattern, "{prefix}", p, 1)] = who
		}
	}
	return out
}

// TestEveryRouteDeclaresRoles: no management route is served without
// declaring its roles, and each is in the role matrix, so a route added
// later cannot be open to every role by accident.
func TestEveryRouteDeclaresRoles(t *testing.T) {
	e := newEnv(t, setup{})
	got := admin.RouteRoles(e.handler)
	for pattern, roles := range got {
		if len(roles) == 0 {
			t.Errorf("route %s declares no role", pattern)
		}
	}
	matrix := expandedMatrix()
	if diff := slices.Compare(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(matrix))); diff != 0 {
		for p := range got {
			if _, ok := matrix[p]; !ok {
				t.Errorf("route %s is not in roleMatrix", p)
			}
		}
		for p := range matrix {
			if _, ok := got[p]; !ok {
				t.Errorf("roleMatrix has %s, which is not a route", p)
			}
		}
	}
}

// mint has the static admin token mint an admin API token with role and
// returns its Authorization header.
func (e *env) mint(role string) string {
	e.t.Helper()
	m := e.must(http.StatusCreated, "POST", "/admin/v1/admin-tokens", map[string]any{"name": role + "-bot", "role": role, "expires_in": "720h"})
	tok, _ := m["token"].(string)
	if !strings.HasPrefix(tok, "sk-adm-") {
		e.t.Fatalf("minted token %q, want sk-adm-...", tok)
	}
	return "Bearer " + tok
}

// TestRoleMatrix calls every management route with each role: allowed
// routes answer anything but 401 and 403 (a 400 or 404 is the handler's
// own answer to the dummy request), the others 403 with a message naming
// the roles that may.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t, setup{})
	auths := map[byte]string{
		'O': "Bearer " + adminToken,
		'P': e.mint("operator"),
		'G': e.mint("organiser"),
		'V': e.mint("viewer"),
	}
	names := map[byte]string{'O': "owner", 'P': "operator", 'G': "organiser", 'V': "viewer"}
	for pattern, who := range expandedMatrix() {
		method, path, _ := strings.Cut(pattern, " ")
		for _, role := range []byte("OPGV") {
			// An event of the caller's own (the owner's for others), new
			// for each call so a DELETE cannot spoil the next one.
			eventOwner := auths['O']
			if role == 'G' {
				eventOwner = auths['G']
			}
			code, raw := e.doAs("POST", "/admin/v1/events", map[string]any{"name": "matrix", "start": "2026-12-01T09:00:00Z", "end": "2026-12-02T09:00:00Z"}, eventOwner)
			var ev struct{ ID string }
			if code != http.StatusCreated || json.Unmarshal(raw, &ev) != nil {
				t.Fatalf("create event as %s: %d %s", names[role], code, raw)
			}
			p := strings.NewReplacer("{id}", idFor(path, ev.ID), "{request_id}", "nope", "{key_id}", "nope", "{query}", "all").Replace(path)
			if strings.HasSuffix(p, "/admin/v1/usage") {
				p += "?event=" + ev.ID
			}
			if strings.HasSuffix(p, "/admin/v1/usage/export") {
				// A JSON answer (400) once past the role check.
				p += "?format=json"
			}
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{}
			}
			code, raw = e.doAs(method, p, body, auths[role])
			allowed := strings.IndexByte(who, role) >= 0
			switch {
			case allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: status %d, want it allowed; body %s", method, p, names[role], code, raw)
			case !allowed && code != http.StatusForbidden:
				t.Errorf("%s %s as %s: status %d, want 403; body %s", method, p, names[role], code, raw)
			case !allowed:
				if msg := decodeErr(t, raw).Error.Message; !strings.Contains(msg, "needs the role") {
					t.Errorf("%s %s as %s: message %q does not say which role it needs", method, p, names[role], msg)
				}
			}
		}
	}
}

// idFor is the id to call a route with: the fresh event on event routes,
// an id that exists nowhere on the others.
func idFor(path, event string) string {
	if strings.Contains(path, "/events/") {
		return event
	}
	return "nope"
}

// TestOrganisersSeeOnlyTheirOwnEvents: two organisers never see, change
// or read the usage of each other's events, in the native and the seed
// dialect; an owner sees both.
func TestOrganisersSeeOnlyTheirOwnEvents(t *testing.T) {
	e := newEnv(t, setup{})
	ann, bob := e.mint("organiser"), e.mint("organiser")
	create := func(auth, name string) string {
		code, raw := e.doAs("POST", "/admin/v1/events", map[string]any{"name": name, "start": "2026-12-01T09:00:00Z", "end": "2026-12-02T09:00:00Z"}, auth)
		var ev struct{ ID, Owner string }
		if code != http.StatusCreated || json.Unmarshal(raw, &ev) != nil || !strings.HasPrefix(ev.Owner, "token:") {
			t.Fatalf("create %s: %d %s", name, code, raw)
		}
		return ev.ID
	}
	annEvent := create(ann, "ann's")
	bobEvent := create(bob, "bob's")
	list := func(auth, path string) string {
		code, raw := e.doAs("GET", path, nil, auth)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, raw)
		}
		return string(raw)
	}
	for _, path := range []string{"/admin/v1/events", "/api/v1/management/events/list/all"} {
		got := list(ann, path)
		if !strings.Contains(got, annEvent) || strings.Contains(got, bobEvent) {
			t.Errorf("GET %s as ann = %s, want ann's event and not bob's", path, got)
		}
		got = list("Bearer "+adminToken, path)
		if !strings.Contains(got, annEvent) || !strings.Contains(got, bobEvent) {
			t.Errorf("GET %s as owner = %s, want both events", path, got)
		}
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/v1/events/" + bobEvent},
		{"PATCH", "/admin/v1/events/" + bobEvent},
		{"DELETE", "/admin/v1/events/" + bobEvent},
		{"GET", "/admin/v1/events/" + bobEvent + "/attendees"},
		{"POST", "/admin/v1/events/" + bobEvent + "/attendees"},
		{"GET", "/admin/v1/events/" + bobEvent + "/report"},
		{"GET", "/admin/v1/usage?event=" + bobEvent},
	} {
		var body any
		if tc.method == "PATCH" || tc.method == "POST" {
			body = map[string]any{"name": "mine now"}
		}
		if code, raw := e.doAs(tc.method, tc.path, body, ann); code != http.StatusNotFound {
			t.Errorf("%s %s as ann: status %d, want 404; body %s", tc.method, tc.path, code, raw)
		}
	}
	if code, raw := e.doAs("GET", "/admin/v1/usage", nil, ann); code != http.StatusForbidden || !strings.Contains(string(raw), "?event=") {
		t.Errorf("GET /admin/v1/usage as an organiser without ?event=: %d %s, want 403 saying to add ?event=", code, raw)
	}
	if code, raw := e.doAs("PATCH", "/admin/v1/events/"+annEvent, map[string]any{"owner": "someone-else"}, ann); code != http.StatusForbidden {
		t.Errorf("organiser handing an event away: %d %s, want 403", code, raw)
	}
	if got := list(bob, "/admin/v1/events/"+bobEvent); !strings.Contains(got, bobEvent) {
		t.Errorf("bob's event after ann's attempts = %s, want it intact", got)
	}
}

// TestAdminTokens: a minted token is shown once, listed without its
// secret, stops at its expiry (injected clock) and when revoked.
func TestAdminTokens(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, setup{now: func() time.Time { return clock() }})
	m := e.must(http.StatusCreated, "POST", "/admin/v1/admin-tokens", map[string]any{"name": "ci", "role": "viewer", "expires_in": "1h"})
	token := m["token"].(string)
	viewer := "Bearer " + token
	if code, raw := e.doAs("GET", "/admin/v1/me", nil, viewer); code != http.StatusOK || !strings.Contains(string(raw), `"role":"viewer"`) {
		t.Errorf("GET /admin/v1/me with the new token: %d %s, want 200 viewer", code, raw)
	}
	listed := e.must(http.StatusOK, "GET", "/admin/v1/admin-tokens", nil)
	raw, _ := json.Marshal(listed)
	if strings.Contains(string(raw), token) || strings.Contains(string(raw), `"token"`) {
		t.Errorf("list shows the token: %s", raw)
	}
	now = now.Add(time.Hour)
	if code, raw := e.doAs("GET", "/admin/v1/me", nil, viewer); code != http.StatusUnauthorized || !strings.Contains(string(raw), "expired") {
		t.Errorf("token at its expiry: %d %s, want 401 saying it expired", code, raw)
	}
	m = e.must(http.StatusCreated, "POST", "/admin/v1/admin-tokens", map[string]any{"name": "ops", "role": "operator", "expires_at": now.Add(24 * time.Hour).Format(time.RFC3339)})
	op := "Bearer " + m["token"].(string)
	if code, _ := e.doAs("GET", "/admin/v1/keys", nil, op); code != http.StatusOK {
		t.Errorf("operator token: %d, want 200", code)
	}
	if code, _ := e.doAs("POST", "/admin/v1/admin-tokens", map[string]any{"name": "x", "role": "owner", "expires_in": "1h"}, op); code != http.StatusForbidden {
		t.Errorf("operator minting an owner token: %d, want 403", code)
	}
	e.must(http.StatusOK, "DELETE", "/admin/v1/admin-tokens/"+m["id"].(string), nil)
	if code, _ := e.doAs("GET", "/admin/v1/keys", nil, op); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	e.mustErr(http.StatusNotFound, "DELETE", "/admin/v1/admin-tokens/adm_nope", nil)
	for _, tc := range []struct {
		name  string
		body  any
		param string
	}{
		{"no name", map[string]any{"role": "viewer", "expires_in": "1h"}, "name"},
		{"bad role", map[string]any{"name": "x", "role": "admin", "expires_in": "1h"}, "role"},
		{"no expiry", map[string]any{"name": "x", "role": "viewer"}, "expires_in"},
		{"too long", map[string]any{"name": "x", "role": "viewer", "expires_in": "9000h"}, "expires_in"},
		{"past", map[string]any{"name": "x", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"},
		{"both", map[string]any{"name": "x", "role": "viewer", "expires_in": "1h", "expires_at": "2030-01-01T00:00:00Z"}, "expires_in"},
		{"unknown field", map[string]any{"name": "x", "role": "viewer", "expires_in": "1h", "scope": "all"}, "scope"},
	} {
		if got := param(e.mustErr(http.StatusBadRequest, "POST", "/admin/v1/admin-tokens", tc.body)); got != tc.param {
			t.Errorf("%s: param %q, want %q", tc.name, got, tc.param)
		}
	}
	if code, _ := e.doAs("GET", "/admin/v1/me", nil, "Bearer sk-adm-made-up"); code != http.StatusUnauthorized {
		t.Errorf("made-up sk-adm- token: %d, want 401", code)
	}
}
