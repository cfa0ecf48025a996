package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// reportBody is the answer of GET /admin/v1/events/{id}/report.
type reportBody struct {
	EventID   string `json:"event_id"`
	Name      string `json:"name"`
	TimeZone  string `json:"time_zone"`
	From      string `json:"from"`
	To        string `json:"to"`
	Attendees int    `json:"attendees"`
	Totals    struct {
		ActiveAttendees int `json:"active_attendees"`
		Counts
	} `json:"totals"`
	Days []struct {
		Day             string `json:"day"`
		ActiveAttendees int    `json:"active_attendees"`
		Counts
	} `json:"days"`
	Models []struct {
		Model string `json:"model"`
		Counts
	} `json:"models"`
}

type Counts struct {
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	Cost             float64 `json:"cost"`
}

func TestEventReport(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		// 09:00 on 1 December to 17:00 on 2 December in Sydney (AEDT,
		// +11): 2026-11-30T22:00Z to 2026-12-02T06:00Z. Sydney's days
		// turn at 13:00Z.
		ev := e.createEvent(nil)
		var keys []string
		for _, a := range []string{"ann", "bob", "cat", "dan"} {
			got := e.admin(http.StatusCreated, "POST", "/admin/v1/events/"+ev+"/attendees", map[string]any{"attendee": a}).json(t)
			keys = append(keys, got["key_id"].(string))
		}
		rec := func(at string, key, event, model string, status int) usage.Record {
			tm, err := time.Parse(time.RFC3339, at)
			if err != nil {
				t.Fatal(err)
			}
			return usage.Record{
				Time: tm, KeyID: key, EventID: event, Model: model, Status: status, Latency: 100 * time.Millisecond,
				PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, Cost: 0.5,
			}
		}
		ann, bob, cat := keys[0], keys[1], keys[2]
		if err := e.store.InsertUsage(t.Context(), []usage.Record{
			rec("2026-11-30T23:00:00Z", ann, ev, "gpt-4o-mini", 200), // 1 Dec 10:00
			rec("2026-12-01T05:00:00Z", bob, ev, "gpt-4o-mini", 200), // 1 Dec 16:00
			rec("2026-12-01T12:59:00Z", ann, ev, "gpt-4o", 429),      // 1 Dec 23:59
			rec("2026-12-01T14:00:00Z", ann, ev, "gpt-4o", 200),      // 2 Dec 01:00, still 1 Dec in UTC
			rec("2026-12-02T05:59:00Z", cat, ev, "gpt-4o-mini", 200), // 2 Dec 16:59
			rec("2026-12-02T06:00:00Z", ann, ev, "gpt-4o-mini", 200), // 2 Dec 17:00: the end, excluded by default
			rec("2026-12-01T05:00:00Z", "key_other", "ev_other", "gpt-4o", 200),
			rec("2026-12-01T05:00:00Z", "key_team", "", "gpt-4o", 200),
		}); err != nil {
			t.Fatalf("InsertUsage: %v", err)
		}

		var want reportBody
		if err := json.Unmarshal([]byte(`{
			"event_id": "`+ev+`", "name": "Hack Sydney", "time_zone": "Australia/Sydney",
			"from": "2026-11-30T22:00:00Z", "to": "2026-12-02T06:00:00Z", "attendees": 4,
			"totals": {"active_attendees": 3, "requests": 5, "errors": 1, "prompt_tokens": 500, "completion_tokens": 100, "total_tokens": 600, "cost": 2.5},
			"days": [
				{"day": "2026-12-01", "active_attendees": 2, "requests": 3, "errors": 1, "prompt_tokens": 300, "completion_tokens": 60, "total_tokens": 360, "cost": 1.5},
				{"day": "2026-12-02", "active_attendees": 2, "requests": 2, "errors": 0, "prompt_tokens": 200, "completion_tokens": 40, "total_tokens": 240, "cost": 1}
			],
			"models": [
				{"model": "gpt-4o", "requests": 2, "errors": 1, "prompt_tokens": 200, "completion_tokens": 40, "total_tokens": 240, "cost": 1},
				{"model": "gpt-4o-mini", "requests": 3, "errors": 0, "prompt_tokens": 300, "completion_tokens": 60, "total_tokens": 360, "cost": 1.5}
			]}`), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, e.report(ev, "")); diff != "" {
			t.Errorf("report over the event (-want +got):\n%s", diff)
		}

		// One Sydney day, given as a date: its midnight to the next.
		got := e.report(ev, "?from=2026-12-02&to=2026-12-02")
		if got.From != "2026-12-01T13:00:00Z" || got.To != "2026-12-02T13:00:00Z" || len(got.Days) != 1 ||
			got.Days[0].Day != "2026-12-02" || got.Days[0].ActiveAttendees != 2 || got.Days[0].Requests != 3 {
			t.Errorf("report of 2 December: from %s to %s, days %+v; want 13:00Z to 13:00Z, one day with 2 attendees and 3 requests", got.From, got.To, got.Days)
		}
		// A range with no usage still lists its days, with zeros.
		got = e.report(ev, "?from=2026-12-05T00:00:00Z&to=2026-12-06T00:00:00Z")
		if len(got.Days) != 2 || got.Days[0].Day != "2026-12-05" || got.Days[1].Day != "2026-12-06" || got.Totals.Requests != 0 || len(got.Models) != 0 {
			t.Errorf("report of a quiet range: %+v, want two empty Sydney days", got)
		}
	})
}

func TestEventReportErrors(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	ev := e.createEvent(nil)
	for _, tc := range []struct {
		query     string
		wantParam string
		wantIn    string
	}{
		{"?from=yesterday", "from", "want a time"},
		{"?to=2026-13-01", "to", "want a time"},
		{"?from=2026-12-02&to=2026-12-01", "from", "must be before to"},
		{"?from=2026-01-01&to=2026-12-31", "from", "at most 92"},
		{"?from=2026-12-01&from=2026-12-02", "from", "give it once"},
	} {
		got := e.admin(http.StatusBadRequest, "GET", "/admin/v1/events/"+ev+"/report"+tc.query, nil).err(t)
		if param(got) != tc.wantParam || !strings.Contains(got.Error.Message, tc.wantIn) {
			t.Errorf("%s: param %q message %q; want %q, containing %q", tc.query, param(got), got.Error.Message, tc.wantParam, tc.wantIn)
		}
	}
	// 92 Sydney days are fine.
	e.admin(http.StatusOK, "GET", "/admin/v1/events/"+ev+"/report?from=2026-10-01&to=2026-12-31", nil)
	e.admin(http.StatusNotFound, "GET", "/admin/v1/events/ev_nope/report", nil)
}

// report GETs an event's report with query and decodes it, wanting 200.
func (e *accessEnv) report(ev, query string) reportBody {
	e.t.Helper()
	res := e.admin(http.StatusOK, "GET", "/admin/v1/events/"+ev+"/report"+query, nil)
	var b reportBody
	if err := json.Unmarshal(res.body, &b); err != nil {
		e.t.Fatalf("report: %v; body %s", err, res.body)
	}
	return b
}
