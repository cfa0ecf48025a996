package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedEventDoc is the body of the seed's documented add-event call
// (docs/docs/30-Authorization/30-adding-event.md).
const seedEventDoc = `{
    "event_name": ".NET OpenAI Hack",
    "start_utc" : "2023-11-16T00:00:00",
    "end_utc": "2023-12-16T00:00:00",
    "max_token_cap": 2048,
    "event_url": "http://www.example.com/event_name",
    "event_url_text": "Join the .NET OpenAI Hack",
    "organizer_name": "Ant Blogs",
    "organizer_email": "ablogs@example.com"
}`

// seedEvents lists events through the seed's route.
func (e *accessEnv) seedEvents(query string) []map[string]any {
	e.t.Helper()
	res := e.admin(http.StatusOK, "GET", "/api/v1/management/events/list/"+query, nil)
	var out []map[string]any
	if err := json.Unmarshal(res.body, &out); err != nil {
		e.t.Fatalf("list/%s: want a JSON array, got %s", query, res.body)
	}
	return out
}

func TestSeedEvents(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		added := map[string]map[string]any{}
		// The documented call, on each path the seed has used for it.
		for _, path := range []string{"/api/v1/management/events/add", "/v1/api/management/events/add", "/v1/api/management/addevent"} {
			got := e.admin(http.StatusOK, "POST", path, seedEventDoc).json(t)
			code, _ := got["event_code"].(string)
			if !eventIDPattern.MatchString(code) {
				t.Errorf("event_code %q, want an event id", code)
			}
			want := map[string]any{
				"event_code": code, "event_name": ".NET OpenAI Hack",
				"organizer_name": "Ant Blogs", "organizer_email": "ablogs@example.com",
				"start_utc": "2023-11-16T00:00:00Z", "end_utc": "2023-12-16T00:00:00Z",
				"event_url": "http://www.example.com/event_name",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("POST %s (-want +got):\n%s", path, diff)
			}
			added[code] = got
		}
		// The optional fields of the seed's later releases; the times stay
		// UTC whatever the label.
		running := e.admin(http.StatusOK, "POST", "/api/v1/management/events/add", map[string]any{
			"event_name": "Now", "start_utc": "2026-11-25T00:00:00", "end_utc": "2026-11-26T00:00:00Z",
			"max_token_cap": 512, "event_url": "https://example.com", "event_url_text": "site",
			"organizer_name": "Ann", "organizer_email": "ann@example.com",
			"daily_request_cap": 50, "event_markdown": "# Hi", "time_zone_label": "Australia/Sydney",
		}).json(t)["event_code"].(string)
		e.admin(http.StatusOK, "POST", "/api/v1/management/events/add", map[string]any{
			"event_name": "Off", "start_utc": "2026-11-25T00:00:00", "end_utc": "2026-11-26T00:00:00",
			"max_token_cap": 512, "event_url": "https://example.com", "event_url_text": "site",
			"organizer_name": "Ann", "organizer_email": "ann@example.com", "active": false,
		})
		e.wantReloads(5)

		native := e.admin(http.StatusOK, "GET", "/admin/v1/events/"+running, nil).json(t)
		if native["start"] != "2026-11-25T00:00:00Z" || native["time_zone"] != "Australia/Sydney" || native["self_registration"] != false || native["description"] != "# Hi" {
			t.Errorf("the seed's event natively: %v", native)
		}

		if got := len(e.seedEvents("all")); got != 5 {
			t.Errorf("list/all: %d events, want 5", got)
		}
		wantActive := []map[string]any{{
			"event_code": running, "event_name": "Now",
			"start_utc": "2026-11-25T00:00:00Z", "end_utc": "2026-11-26T00:00:00Z",
			"max_token_cap": 512.0, "daily_request_cap": 50.0,
			"event_url": "https://example.com", "event_url_text": "site",
			"organizer_name": "Ann", "organizer_email": "ann@example.com",
			"event_markdown": "# Hi", "time_zone_label": "Australia/Sydney", "active": true,
		}}
		for _, query := range []string{"active", "ACTIVE"} {
			if diff := cmp.Diff(wantActive, e.seedEvents(query)); diff != "" {
				t.Errorf("list/%s (-want +got):\n%s", query, diff)
			}
		}
		// The deprecated spelling lists the same.
		res := e.admin(http.StatusOK, "GET", "/v1/api/management/listevents/active", nil)
		if !strings.Contains(string(res.body), running) {
			t.Errorf("listevents/active: %s, want %s in it", res.body, running)
		}
	})
}

func TestSeedEventErrors(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	valid := func(changes map[string]any) map[string]any {
		var b map[string]any
		_ = json.Unmarshal([]byte(seedEventDoc), &b)
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
		body      any
		wantParam string
		wantIn    string
	}{
		{"missing fields", map[string]any{"event_name": "x"}, "start_utc", "missing start_utc, end_utc, max_token_cap"},
		{"bad start", valid(map[string]any{"start_utc": "soon"}), "start_utc", "want a time"},
		{"end before start", valid(map[string]any{"end_utc": "2023-11-01T00:00:00"}), "end_utc", "must be after start"},
		{"blank name", valid(map[string]any{"event_name": ""}), "event_name", "required"},
		{"bad url", valid(map[string]any{"event_url": "ftp://x"}), "event_url", "http"},
		{"unknown zone label", valid(map[string]any{"time_zone_label": "AUS Eastern Standard Time"}), "time_zone_label", "IANA"},
		{"negative cap", valid(map[string]any{"max_token_cap": -1}), "max_token_cap", "0 (no limit)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.admin(http.StatusBadRequest, "POST", "/api/v1/management/events/add", tc.body).err(t)
			if param(got) != tc.wantParam || !strings.Contains(got.Error.Message, tc.wantIn) || got.Detail != got.Error.Message {
				t.Errorf("got param %q message %q detail %q; want param %q, a message containing %q, repeated in detail",
					param(got), got.Error.Message, got.Detail, tc.wantParam, tc.wantIn)
			}
		})
	}
	got := e.admin(http.StatusBadRequest, "GET", "/api/v1/management/events/list/soon", nil).err(t)
	if got.Error.Message != "Invalid query path." {
		t.Errorf("list/soon: %q, want the seed's \"Invalid query path.\"", got.Error.Message)
	}
	e.wantReloads(0)
}
