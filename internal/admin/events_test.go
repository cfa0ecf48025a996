package admin_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/store"
)

// eventIDPattern is how the gateway spells event ids.
var eventIDPattern = regexp.MustCompile(`^ev_[a-z2-7]{16}$`)

func TestEventsCRUD(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		// The contract's example, verbatim.
		created := e.admin(http.StatusCreated, "POST", "/admin/v1/events", `{"name": "Hack Sydney", "description": "**markdown**",
 "start": "2026-12-01T09:00:00", "end": "2026-12-02T17:00:00",
 "time_zone": "Australia/Sydney", "max_token_cap": 512,
 "daily_request_cap": 100, "models": ["gpt-4o-mini"],
 "organizer_name": "Ann", "organizer_email": "ann@example.com",
 "url": "https://example.com", "url_text": "Event site",
 "shared_code": "let-me-in", "active": true, "log_payloads": false}`)
		got := created.json(t)
		id, _ := got["id"].(string)
		if !eventIDPattern.MatchString(id) {
			t.Errorf("id %q, want ev_ and 16 base32 characters", id)
		}
		now := testNow.Format(time.RFC3339)
		want := map[string]any{
			"id": id, "name": "Hack Sydney", "description": "**markdown**",
			// 09:00 and 17:00 in Sydney's summer (AEDT, +11).
			"start": "2026-11-30T22:00:00Z", "end": "2026-12-02T06:00:00Z",
			"time_zone": "Australia/Sydney", "max_token_cap": 512.0, "daily_request_cap": 100.0,
			"models": []any{"gpt-4o-mini"}, "organizer_name": "Ann", "organizer_email": "ann@example.com",
			"url": "https://example.com", "url_text": "Event site", "self_registration": true,
			"active": true, "log_payloads": false, "attendees": 0.0, "owner": "admin-token", "signin_registration": false, "signin_domains": []any{}, "created_at": now, "updated_at": now,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("POST answer (-want +got):\n%s", diff)
		}
		e.wantReloads(1)
		stored, err := e.store.GetEvent(t.Context(), id)
		if err != nil {
			t.Fatalf("GetEvent: %v", err)
		}
		if len(stored.SharedCodeHash) != 32 {
			t.Errorf("stored shared code hash is %d bytes, want a SHA-256", len(stored.SharedCodeHash))
		}

		path := "/admin/v1/events/" + id
		if diff := cmp.Diff(want, e.admin(http.StatusOK, "GET", path, nil).json(t)); diff != "" {
			t.Errorf("GET answer (-want +got):\n%s", diff)
		}

		// An attendee counts, in the event and in the list.
		e.admin(http.StatusCreated, "POST", path+"/attendees", map[string]any{"attendee": "bob@example.com"})
		e.wantReloads(2)
		want["attendees"] = 1.0
		list := e.admin(http.StatusOK, "GET", "/admin/v1/events", nil).json(t)
		if diff := cmp.Diff(map[string]any{"data": []any{want}}, list); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}

		// Changing only the time zone keeps the instants; a new start is
		// then read in the new zone (Berlin, +1 in December).
		got = e.admin(http.StatusOK, "PATCH", path, map[string]any{"time_zone": "Europe/Berlin"}).json(t)
		want["time_zone"] = "Europe/Berlin"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PATCH time_zone (-want +got):\n%s", diff)
		}
		got = e.admin(http.StatusOK, "PATCH", path, map[string]any{"start": "2026-12-01T10:00:00", "shared_code": "", "models": nil}).json(t)
		want["start"], want["self_registration"] = "2026-12-01T09:00:00Z", false
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PATCH start, shared_code (-want +got):\n%s", diff)
		}
		// A GET answer sent back unchanged changes nothing.
		got = e.admin(http.StatusOK, "PATCH", path, string(e.admin(http.StatusOK, "GET", path, nil).body)).json(t)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PATCH with a GET answer (-want +got):\n%s", diff)
		}
		e.wantReloads(5)

		// Deleting the event deletes its attendee keys.
		if res := e.admin(http.StatusNoContent, "DELETE", path, nil); len(res.body) != 0 {
			t.Errorf("DELETE body %q, want none", res.body)
		}
		e.wantReloads(6)
		if got := e.admin(http.StatusNotFound, "GET", path, nil).err(t); got.Error.Code != "event_not_found" {
			t.Errorf("GET after DELETE: code %q, want event_not_found", got.Error.Code)
		}
		if keys, err := e.store.ListKeys(t.Context(), store.KeyFilter{EventID: id}); err != nil || len(keys) != 0 {
			t.Errorf("attendee keys after DELETE: %d (err %v), want none", len(keys), err)
		}
		e.admin(http.StatusNotFound, "DELETE", path, nil)
		e.admin(http.StatusNotFound, "PATCH", path, map[string]any{"name": "x"})
		e.wantReloads(6)

		for _, b := range e.bodies {
			if strings.Contains(b, "let-me-in") {
				t.Errorf("an answer carries the shared code: %s", b)
			}
		}
	})
}

func TestEventTimes(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	for _, tc := range []struct {
		name      string
		zone      string // "" leaves time_zone out
		start     string
		wantStart string
		wantZone  string
	}{
		{"Sydney summer (AEDT, +11)", "Australia/Sydney", "2026-12-01T09:00:00", "2026-11-30T22:00:00Z", ""},
		{"Sydney the day before DST starts (AEST, +10)", "Australia/Sydney", "2026-10-03T09:00:00", "2026-10-02T23:00:00Z", ""},
		{"Sydney the day after DST starts (AEDT, +11)", "Australia/Sydney", "2026-10-05T17:00:00", "2026-10-05T06:00:00Z", ""},
		{"Sydney just before the skipped hour", "Australia/Sydney", "2026-10-04T01:59:00", "2026-10-03T15:59:00Z", ""},
		{"Sydney just after the skipped hour", "Australia/Sydney", "2026-10-04T03:00:00", "2026-10-03T16:00:00Z", ""},
		{"Sydney's repeated hour is the first one", "Australia/Sydney", "2026-04-05T02:30:00", "2026-04-04T15:30:00Z", ""},
		{"New York's repeated hour is the first one (EDT)", "America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z", ""},
		{"minutes only", "Australia/Sydney", "2026-12-01T09:00", "2026-11-30T22:00:00Z", ""},
		{"a date is its midnight", "Australia/Sydney", "2026-12-01", "2026-11-30T13:00:00Z", ""},
		{"an offset wins over the zone", "Australia/Sydney", "2026-12-01T09:00:00+01:00", "2026-12-01T08:00:00Z", ""},
		{"Z wins over the zone", "Australia/Sydney", "2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z", ""},
		{"fractions kept", "UTC", "2026-12-01T09:00:00.250", "2026-12-01T09:00:00.25Z", ""},
		{"no zone is UTC", "", "2026-12-01T09:00:00", "2026-12-01T09:00:00Z", "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"name": "e", "start": tc.start, "end": "2027-06-01T00:00:00Z"}
			if tc.zone != "" {
				body["time_zone"] = tc.zone
			}
			got := e.admin(http.StatusCreated, "POST", "/admin/v1/events", body).json(t)
			wantZone := tc.wantZone
			if wantZone == "" {
				wantZone = tc.zone
			}
			if got["start"] != tc.wantStart || got["time_zone"] != wantZone {
				t.Errorf("start %v in %v, want %s in %s", got["start"], got["time_zone"], tc.wantStart, wantZone)
			}
		})
	}
}

func TestEventValidation(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	existing := e.createEvent(nil)
	valid := func(changes map[string]any) map[string]any {
		b := map[string]any{"name": "Hack", "start": "2026-12-01T09:00:00", "end": "2026-12-02T17:00:00", "time_zone": "Australia/Sydney"}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		patch     bool // PATCH the existing event instead of POST
		body      any
		wantCode  string
		wantParam string
		wantIn    string
	}{
		{"no name", false, valid(map[string]any{"name": nil}), "invalid_event", "name", "required"},
		{"blank name", false, valid(map[string]any{"name": "   "}), "invalid_event", "name", "required"},
		{"blank name by PATCH", true, map[string]any{"name": ""}, "invalid_event", "name", "required"},
		{"no start", false, valid(map[string]any{"start": nil}), "invalid_event", "start", "required"},
		{"no end", false, valid(map[string]any{"end": nil}), "invalid_event", "end", "required"},
		{"end before start", false, valid(map[string]any{"end": "2026-12-01T08:00:00"}), "invalid_event", "end", "must be after start"},
		{"end at start", false, valid(map[string]any{"end": "2026-12-01T09:00:00"}), "invalid_event", "end", "must be after start"},
		{"end before start by PATCH", true, map[string]any{"end": "2026-01-01T00:00:00Z"}, "invalid_event", "end", "must be after start"},
		{"start not a time", false, valid(map[string]any{"start": "next monday"}), "invalid_event", "start", "want a time"},
		{"start in the skipped hour", false, valid(map[string]any{"start": "2026-10-04T02:30:00"}), "invalid_event", "start", "does not exist in Australia/Sydney"},
		{"unknown zone", false, valid(map[string]any{"time_zone": "Mars/Olympus"}), "invalid_event", "time_zone", "IANA"},
		{"Local zone", false, valid(map[string]any{"time_zone": "Local"}), "invalid_event", "time_zone", "gateway's own zone"},
		{"negative token cap", false, valid(map[string]any{"max_token_cap": -1}), "invalid_event", "max_token_cap", "0 (no limit) or more"},
		{"negative request cap", false, valid(map[string]any{"daily_request_cap": -2}), "invalid_event", "daily_request_cap", "not -2"},
		{"javascript URL", false, valid(map[string]any{"url": "javascript:alert(1)"}), "invalid_event", "url", "http"},
		{"relative URL", false, valid(map[string]any{"url": "/event"}), "invalid_event", "url", "absolute"},
		{"short code", false, valid(map[string]any{"shared_code": "1234"}), "invalid_event", "shared_code", "at least 6"},
		{"not an email", false, valid(map[string]any{"organizer_email": "ann"}), "invalid_event", "organizer_email", "not an email"},
		{"empty model", false, valid(map[string]any{"models": []string{""}}), "invalid_event", "models[0]", "is empty"},
		{"control character in description", false, valid(map[string]any{"description": "ding\a"}), "invalid_event", "description", "control characters"},
		{"id given", false, valid(map[string]any{"id": "ev_mine"}), "invalid_event", "id", "chosen by the gateway"},
		{"unknown field", false, valid(map[string]any{"venue": "x"}), "unknown_field", "venue", "GET /admin/v1/events"},
		{"every problem listed", false, valid(map[string]any{"name": nil, "max_token_cap": -1}), "invalid_event", "name", "max_token_cap:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, path := "POST", "/admin/v1/events"
			if tc.patch {
				method, path = "PATCH", "/admin/v1/events/"+existing
			}
			got := e.admin(http.StatusBadRequest, method, path, tc.body).err(t)
			if got.Error.Code != tc.wantCode || param(got) != tc.wantParam || !strings.Contains(got.Error.Message, tc.wantIn) {
				t.Errorf("got code %q param %q message %q; want code %q param %q, message containing %q",
					got.Error.Code, param(got), got.Error.Message, tc.wantCode, tc.wantParam, tc.wantIn)
			}
		})
	}
	e.wantReloads(1)
	list := e.admin(http.StatusOK, "GET", "/admin/v1/events", nil)
	if n := bytes.Count(list.body, []byte(`"self_registration"`)); n != 1 {
		t.Errorf("%d events stored, want 1: a refused body stores nothing", n)
	}
	// Markdown keeps its line breaks and tabs.
	md := "# Welcome\r\n\n\t- bring a laptop\n"
	if got := e.admin(http.StatusOK, "PATCH", "/admin/v1/events/"+existing, map[string]any{"description": md}).json(t)["description"]; got != md {
		t.Errorf("description %q, want %q", got, md)
	}
}
