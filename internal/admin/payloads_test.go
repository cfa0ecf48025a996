package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// payloadJSON is one payload as the API shows it.
type payloadJSON struct {
	RequestID string `json:"request_id"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Model     string `json:"model"`
	Prompt    string `json:"prompt"`
	Response  string `json:"response"`
}

// seedPayloads stores five requests with logged prompts, over two keys
// and two models, an hour apart from day, and one without.
func (e *env) seedPayloads() {
	e.t.Helper()
	var rs []usage.Record
	for i := range 5 {
		rs = append(rs, usage.Record{
			Time: day.Add(time.Duration(i) * time.Hour), RequestID: fmt.Sprintf("req-%d", i),
			KeyID: []string{"key-a", "key-b"}[i%2], Model: []string{"gpt-4o", "o3"}[i%2*(i/3)],
			Status: 200, Prompt: fmt.Sprintf(`{"messages":[{"role":"user","content":"q%d"}]}`, i), Response: fmt.Sprintf("a%d", i),
		})
	}
	rs = append(rs, usage.Record{Time: day, RequestID: "unlogged", KeyID: "key-a", Model: "gpt-4o", Status: 200})
	e.seedUsage(rs...)
}

func (e *env) payloads(path string) []payloadJSON {
	e.t.Helper()
	code, raw := e.do("GET", path, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, want 200; body %s", path, code, raw)
	}
	var b struct {
		Data []payloadJSON `json:"data"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Data == nil {
		e.t.Fatalf("GET %s: want {\"data\":[...]}, got %s (%v)", path, raw, err)
	}
	return b.Data
}

func TestPayloadsList(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedPayloads()
	ids := func(ps []payloadJSON) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, p.RequestID)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"req-4", "req-3", "req-2", "req-1", "req-0"}},
		{"?limit=2", []string{"req-4", "req-3"}},
		{"?key=key-b", []string{"req-3", "req-1"}},
		{"?model=o3", []string{"req-3"}},
		{"?key=key-a&model=gpt-4o", []string{"req-4", "req-2", "req-0"}},
		{"?from=2026-11-20T01:00:00Z&to=2026-11-20T03:00:00Z", []string{"req-2", "req-1"}},
		{"?to=2026-11-20", []string{"req-4", "req-3", "req-2", "req-1", "req-0"}}, // a date as to is the end of that day
		{"?to=2026-11-19", []string{}},
		{"?from=2026-11-21", []string{}},
	} {
		if diff := cmp.Diff(tc.want, ids(e.payloads("/admin/v1/payloads"+tc.query))); diff != "" {
			t.Errorf("GET /admin/v1/payloads%s (-want +got):\n%s", tc.query, diff)
		}
	}

	got := e.payloads("/admin/v1/payloads?limit=1")
	want := []payloadJSON{{
		RequestID: "req-4", Time: "2026-11-20T04:00:00Z", KeyID: "key-a", Model: "gpt-4o",
		Prompt: `{"messages":[{"role":"user","content":"q4"}]}`, Response: "a4",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload fields (-want +got):\n%s", diff)
	}
}

func TestPayloadsListBadQuery(t *testing.T) {
	e := newEnv(t, setup{})
	for _, tc := range []struct{ query, param string }{
		{"?limit=0", "limit"},
		{"?limit=1001", "limit"},
		{"?limit=ten", "limit"},
		{"?from=yesterday", "from"},
		{"?to=2026-13-01", "to"},
		{"?from=2026-11-21&to=2026-11-20T00:00:00Z", "from"},
		{"?key=a&key=b", "key"},
	} {
		got := e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/payloads"+tc.query, nil)
		if param(got) != tc.param || got.Error.Type != "invalid_request_error" {
			t.Errorf("%s: param %q, type %q; want %q, invalid_request_error", tc.query, param(got), got.Error.Type, tc.param)
		}
	}
}

func TestPayloadGet(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedPayloads()
	code, raw := e.do("GET", "/admin/v1/payloads/req-3", nil)
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", code, raw)
	}
	var got payloadJSON
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	want := payloadJSON{
		RequestID: "req-3", Time: "2026-11-20T03:00:00Z", KeyID: "key-b", Model: "o3",
		Prompt: `{"messages":[{"role":"user","content":"q3"}]}`, Response: "a3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /admin/v1/payloads/req-3 (-want +got):\n%s", diff)
	}

	for _, id := range []string{"unlogged", "absent"} {
		e := e.mustErr(http.StatusNotFound, "GET", "/admin/v1/payloads/"+id, nil)
		if e.Error.Code != "payload_not_found" || e.Error.Type != "not_found_error" || param(e) != "request_id" || !strings.Contains(e.Error.Message, id) {
			t.Errorf("GET /admin/v1/payloads/%s: %+v, want a payload_not_found naming it", id, e.Error)
		}
	}
	e.mustErr(http.StatusMethodNotAllowed, "DELETE", "/admin/v1/payloads/req-3", nil)
}

// TestPayloadsNeedAdminToken: prompts are the most sensitive thing the
// gateway keeps; without the admin token nothing of them comes out.
func TestPayloadsNeedAdminToken(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedPayloads()
	for _, path := range []string{"/admin/v1/payloads", "/admin/v1/payloads/req-1"} {
		for _, auth := range []string{"", "Bearer wrong-token"} {
			code, raw := e.doAs("GET", path, nil, auth)
			if code != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: status %d, want 401", path, auth, code)
			}
			decodeErr(t, raw)
			if strings.Contains(string(raw), "q1") || strings.Contains(string(raw), "a1") {
				t.Errorf("GET %s with %q leaked a payload: %s", path, auth, raw)
			}
		}
	}
}
