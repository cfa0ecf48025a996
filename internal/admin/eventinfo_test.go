package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
)

// duringEvent is a time inside the events createEvent makes by default
// (2026-11-30T22:00Z to 2026-12-02T06:00Z).
var duringEvent = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

func eventInfoEnv(t *testing.T) *accessEnv {
	t.Helper()
	return newAccessEnv(t, accessSetup{config: fileDeployments(t,
		config.Deployment{ID: "east", Model: "gpt-4o-mini", ResourceName: "east", APIKey: secret},
		config.Deployment{ID: "west", Model: "gpt-4o-mini", ResourceName: "west", APIKey: secret},
		config.Deployment{ID: "big", Model: "gpt-4o", ResourceName: "east", APIKey: secret},
		config.Deployment{ID: "art", Model: "dall-e-3", Class: config.ClassImages, ResourceName: "east", APIKey: secret},
		config.Deployment{ID: "off", Model: "gpt-4o-turbo", ResourceName: "east", APIKey: secret, Active: active(false)},
	)})
}

func TestEventInfoAttendee(t *testing.T) {
	e := eventInfoEnv(t)
	ev := e.createEvent(map[string]any{
		"description": "**hi**", "max_token_cap": 512, "daily_request_cap": 100,
		"models": []string{"gpt-4o-mini", "dall-e-3", "not-deployed"},
		"url":    "https://example.com", "url_text": "Event site",
	})
	issued := e.admin(http.StatusCreated, "POST", "/admin/v1/events/"+ev+"/attendees", map[string]any{"attendee": "bob@example.com"}).json(t)
	key := issued["key"].(string)
	e.clock.Set(duringEvent)

	want := map[string]any{
		"is_authorized": true, "event_id": ev, "event_code": ev, "name": "Hack Sydney", "description": "**hi**",
		"start": "2026-11-30T22:00:00Z", "end": "2026-12-02T06:00:00Z", "time_zone": "Australia/Sydney",
		"max_token_cap": 512.0, "daily_request_cap": 100.0,
		"models":         []any{"gpt-4o-mini", "dall-e-3", "not-deployed"},
		"organizer_name": "Ann", "organizer_email": "ann@example.com",
		"event_url": "https://example.com", "event_url_text": "Event site",
		"capabilities": map[string]any{"openai-chat": []any{"gpt-4o-mini"}, "openai-images": []any{"dall-e-3"}},
	}
	for _, header := range []http.Header{{"Api-Key": {key}}, {"Authorization": {"Bearer " + key}}} {
		res := e.send(request{method: "POST", path: "/api/v1/eventinfo", header: header})
		if res.code != http.StatusOK {
			t.Fatalf("eventinfo with %v: status %d; body %s", header, res.code, res.body)
		}
		if diff := cmp.Diff(want, res.json(t)); diff != "" {
			t.Errorf("eventinfo (-want +got):\n%s", diff)
		}
	}

	// The key's own limits narrow the event's.
	e.admin(http.StatusOK, "PATCH", "/admin/v1/keys/"+issued["key_id"].(string), map[string]any{"max_tokens": 256, "models": []string{"gpt-4o", "gpt-4o-mini"}})
	got := e.asKey("POST", "/api/v1/eventinfo", key).json(t)
	if got["max_token_cap"] != 256.0 || !cmp.Equal(got["models"], []any{"gpt-4o-mini"}) {
		t.Errorf("with the key's own limits: max_token_cap %v, models %v; want 256, [gpt-4o-mini]", got["max_token_cap"], got["models"])
	}
}

func TestEventInfoClientKey(t *testing.T) {
	e := eventInfoEnv(t)
	for _, tc := range []struct {
		name string
		body map[string]any
		want map[string]any // the fields that differ from an empty event
	}{
		{"allow-list", map[string]any{"models": []string{"gpt-4o"}, "max_tokens": 1000}, map[string]any{
			"max_token_cap": 1000.0, "models": []any{"gpt-4o"},
			"capabilities": map[string]any{"openai-chat": []any{"gpt-4o"}},
		}},
		{"every model", map[string]any{}, map[string]any{
			"max_token_cap": 0.0, "models": []any{"dall-e-3", "gpt-4o", "gpt-4o-mini"},
			"capabilities": map[string]any{"openai-chat": []any{"gpt-4o", "gpt-4o-mini"}, "openai-images": []any{"dall-e-3"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", tc.body).json(t)["key"].(string)
			want := map[string]any{
				"is_authorized": true, "event_id": "", "event_code": "", "name": "", "description": "",
				"start": "", "end": "", "time_zone": "", "daily_request_cap": 0.0,
				"organizer_name": "", "organizer_email": "", "event_url": "", "event_url_text": "",
			}
			for k, v := range tc.want {
				want[k] = v
			}
			res := e.asKey("POST", "/api/v1/eventinfo", key)
			if res.code != http.StatusOK {
				t.Fatalf("status %d; body %s", res.code, res.body)
			}
			if diff := cmp.Diff(want, res.json(t)); diff != "" {
				t.Errorf("eventinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventInfoRefused(t *testing.T) {
	e := eventInfoEnv(t)
	running := e.createEvent(nil)
	inactive := e.createEvent(map[string]any{"active": false})
	later := e.createEvent(map[string]any{"start": "2026-12-24T09:00:00", "end": "2026-12-25T09:00:00"})
	over := e.createEvent(map[string]any{"start": "2026-11-01T09:00:00", "end": "2026-11-02T09:00:00"})
	attendeeKey := func(ev string) string {
		return e.admin(http.StatusCreated, "POST", "/admin/v1/events/"+ev+"/attendees", map[string]any{"attendee": "bob"}).json(t)["key"].(string)
	}
	revoked := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{}).json(t)
	e.admin(http.StatusOK, "POST", "/admin/v1/keys/"+revoked["id"].(string)+"/revoke", nil)
	expired := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"expires_at": "2026-11-30T00:00:00Z"}).json(t)
	revokedAttendee := attendeeKey(running)
	e.admin(http.StatusOK, "POST", "/admin/v1/keys/"+e.admin(http.StatusOK, "GET", "/admin/v1/keys?event="+running, nil).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)+"/revoke", nil)
	keys := map[string]string{"inactive": attendeeKey(inactive), "later": attendeeKey(later), "over": attendeeKey(over)}
	e.clock.Set(duringEvent)

	for _, tc := range []struct {
		name     string
		header   http.Header
		wantCode string
		wantIn   string
	}{
		{"no key", nil, "missing_api_key", "api-key"},
		{"unknown key", http.Header{"Api-Key": {"sk-not-a-key"}}, "invalid_api_key", "invalid API key"},
		{"not bearer", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}, "invalid_api_key", "invalid API key"},
		{"revoked key", http.Header{"Api-Key": {revoked["key"].(string)}}, "api_key_revoked", "revoked at 2026-11-25T12:00:00Z"},
		{"expired key", http.Header{"Api-Key": {expired["key"].(string)}}, "api_key_expired", "expired at 2026-11-30T00:00:00Z"},
		{"revoked attendee key", http.Header{"Api-Key": {revokedAttendee}}, "api_key_revoked", "revoked"},
		{"inactive event", http.Header{"Api-Key": {keys["inactive"]}}, "event_not_active", "not active"},
		{"event not started", http.Header{"Api-Key": {keys["later"]}}, "event_not_started", "starts at 2026-12-24 09:00 AEDT"},
		{"event over", http.Header{"Api-Key": {keys["over"]}}, "event_ended", "ended at 2026-11-02 09:00 AEDT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.send(request{method: "POST", path: "/api/v1/eventinfo", header: tc.header})
			if res.code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", res.code, res.body)
			}
			got := res.err(t)
			if got.Error.Code != tc.wantCode || !strings.Contains(got.Error.Message, tc.wantIn) {
				t.Errorf("got %q: %q; want %q, a message containing %q", got.Error.Code, got.Error.Message, tc.wantCode, tc.wantIn)
			}
		})
	}
	if res := e.send(request{method: "GET", path: "/api/v1/eventinfo"}); res.code != http.StatusMethodNotAllowed {
		t.Errorf("GET eventinfo: status %d, want 405", res.code)
	}
}
