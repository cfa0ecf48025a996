package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// auditPage is the body of GET /admin/v1/audit.
type auditPage struct {
	Data []struct {
		ID         string          `json:"id"`
		At         time.Time       `json:"at"`
		Actor      string          `json:"actor"`
		Role       string          `json:"role"`
		Address    string          `json:"address"`
		Resource   string          `json:"resource"`
		ResourceID string          `json:"resource_id"`
		Action     string          `json:"action"`
		Status     int             `json:"status"`
		Before     json.RawMessage `json:"before"`
		After      json.RawMessage `json:"after"`
	} `json:"data"`
	NextCursor string `json:"next_cursor"`
}

func (e *env) audit(query string) auditPage {
	e.t.Helper()
	code, raw := e.do("GET", "/admin/v1/audit"+query, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET /admin/v1/audit%s: %d %s", query, code, raw)
	}
	var p auditPage
	if err := json.Unmarshal(raw, &p); err != nil {
		e.t.Fatalf("audit page: %v: %s", err, raw)
	}
	return p
}

// TestAuditEveryChange: every changing call, in every dialect and
// whatever its outcome, writes exactly one entry naming who, when, from
// where and what; no secret that went in or came out is in any entry.
func TestAuditEveryChange(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	e := newEnv(t, setup{now: func() time.Time { return now }})
	viewer := e.mint("viewer") // one entry: admin-tokens create
	secrets := []string{secret, "sk-upstream-ROTATED-456", "SEKRIT-CODE-789", "endpoint-SECRET-000", "sk-litellm-SECRET-111"}

	dep := e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"model": "gpt-4o", "endpoint": "https://x.openai.azure.com", "api_key": secret, "rpm": 600})
	depID := dep["id"].(string)
	key := e.must(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"name": "team-a"})
	secrets = append(secrets, key["key"].(string), strings.TrimPrefix(viewer, "Bearer "))
	ev := e.must(http.StatusCreated, "POST", "/admin/v1/events", map[string]any{"name": "hack", "start": "2026-12-01T09:00:00Z", "end": "2026-12-09T09:00:00Z", "shared_code": "SEKRIT-CODE-789"})
	evID := ev["id"].(string)

	calls := []struct {
		method, path string
		body         any
		auth         string
		resource     string
		action       string
		status       int
	}{
		{"PATCH", "/admin/v1/deployments/" + depID, map[string]any{"rpm": 10, "api_key": "sk-upstream-ROTATED-456"}, "", "deployments", "update", 200},
		{"POST", "/admin/v1/keys/" + key["id"].(string) + "/revoke", nil, "", "keys", "revoke", 200},
		{"POST", "/admin/v1/events/" + evID + "/attendees", map[string]any{"attendee": "ann@example.com"}, "", "attendees", "issue", 0},
		{"PATCH", "/admin/v1/events/" + evID, map[string]any{"name": "hack 2"}, "", "events", "update", 200},
		{"POST", "/model/new", map[string]any{"model_name": "m", "litellm_params": map[string]any{"model": "openai/gpt-4o", "api_key": "sk-litellm-SECRET-111"}}, "", "deployments", "new", 200},
		{"PATCH", "/api/v1/management/modeldeployment/upsert", map[string]any{"deployment_class": "openai-chat", "friendly_name": "glove", "deployment_name": "turbo", "endpoint_key": "endpoint-SECRET-000", "resource_name": "r", "active": true}, "", "deployments", "upsert", 200},
		{"POST", "/api/v1/management/events/add", map[string]any{"event_name": "seed", "start_utc": "2026-12-01T00:00:00Z", "end_utc": "2026-12-02T00:00:00Z", "max_token_cap": 100, "event_url": "https://e", "event_url_text": "e", "organizer_name": "o", "organizer_email": "o@example.com"}, "", "events", "create", 200},
		{"DELETE", "/admin/v1/events/" + evID, nil, "", "events", "delete", 204},
		{"POST", "/admin/v1/keys", map[string]any{"rpm": -1}, "", "keys", "create", 400},
		// Routes added after the audit log, audited without code of their own.
		{"POST", "/admin/v1/teams", map[string]any{"id": "platform", "name": "Platform"}, "", "teams", "create", 0},
		{"PATCH", "/admin/v1/teams/platform", map[string]any{"rpm": 50}, "", "teams", "update", 200},
		{"POST", "/key/generate", map[string]any{"key_alias": "ci"}, "", "keys", "generate", 200},
		{"POST", "/team/new", map[string]any{"team_alias": "data"}, "", "teams", "new", 200},
		{"DELETE", "/admin/v1/deployments/" + depID, nil, viewer, "deployments", "delete", 403},
		{"DELETE", "/admin/v1/deployments/" + depID, nil, "", "deployments", "delete", 200},
	}
	before := len(e.audit("").Data)
	if before != 4 {
		t.Fatalf("entries after minting a token, creating a deployment, a key and an event = %d, want 4", before)
	}
	for i, c := range calls {
		auth := c.auth
		if auth == "" {
			auth = "Bearer " + adminToken
		}
		now = now.Add(time.Minute)
		code, raw := e.doAs(c.method, c.path, c.body, auth)
		if c.status != 0 && code != c.status {
			t.Fatalf("%s %s: %d, want %d; %s", c.method, c.path, code, c.status, raw)
		}
		page := e.audit("")
		if got, want := len(page.Data), before+i+1; got != want {
			t.Fatalf("after %s %s: %d entries, want %d (exactly one more)", c.method, c.path, got, want)
		}
		got := page.Data[0]
		if got.Resource != c.resource || got.Action != c.action || got.Status != code || !got.At.Equal(now) || got.Address != "192.0.2.1" {
			t.Errorf("%s %s: entry %s/%s status %d at %v from %q, want %s/%s status %d at %v from 192.0.2.1",
				c.method, c.path, got.Resource, got.Action, got.Status, got.At, got.Address, c.resource, c.action, code, now)
		}
		wantActor := "admin-token"
		if c.auth != "" {
			wantActor = "token:"
		}
		if !strings.HasPrefix(got.Actor, wantActor) {
			t.Errorf("%s %s: actor %q, want %s...", c.method, c.path, got.Actor, wantActor)
		}
	}

	// The refused DELETE kept no snapshot of what it could not change.
	p := e.audit("?resource=deployments&action=delete")
	if len(p.Data) != 2 || p.Data[1].Status != http.StatusForbidden || string(p.Data[1].Before) != "null" || !strings.Contains(string(p.Data[0].Before), `"rpm":10`) {
		t.Errorf("deployment delete entries = %+v, want the refused one without a before and the allowed one with", p.Data)
	}

	// The PATCH of the deployment shows what changed.
	p = e.audit("?resource=deployments&action=update")
	if len(p.Data) != 1 || !strings.Contains(string(p.Data[0].Before), `"rpm":600`) || !strings.Contains(string(p.Data[0].After), `"rpm":10`) || p.Data[0].ResourceID != depID {
		t.Errorf("deployment update entry = %+v, want before rpm 600, after rpm 10, id %s", p.Data, depID)
	}
	// A new key's entry names it but does not hold it.
	p = e.audit("?resource=keys&action=create")
	if len(p.Data) != 2 || !strings.Contains(string(p.Data[1].After), `"key":"[redacted]"`) {
		t.Errorf("key create entries = %+v, want the created key redacted", p.Data)
	}
	// So does a key LiteLLM's /key/generate made.
	p = e.audit("?resource=keys&action=generate")
	if len(p.Data) != 1 || !strings.Contains(string(p.Data[0].After), `"key":"[redacted]"`) || strings.Contains(string(p.Data[0].After), `"key":"sk-`) {
		t.Errorf("key generate entry = %s, want the generated key redacted", p.Data[0].After)
	}
	// No secret anywhere, in any entry.
	var all []byte
	for q := "?limit=3"; ; {
		page := e.audit(q)
		b, _ := json.Marshal(page.Data)
		all = append(all, b...)
		if page.NextCursor == "" {
			break
		}
		q = "?limit=3&cursor=" + page.NextCursor
	}
	for _, s := range secrets {
		if strings.Contains(string(all), s) {
			t.Errorf("audit log contains the secret %q", s)
		}
	}
	if n := strings.Count(string(all), `"id":"`); n < before+len(calls) {
		t.Errorf("paging through the log found %d entries, want %d", n, before+len(calls))
	}
	// Reads are not changes.
	e.do("GET", "/admin/v1/deployments", nil)
	if got := len(e.audit("").Data); got != before+len(calls) {
		t.Errorf("entries after a GET = %d, want %d", got, before+len(calls))
	}
}

// TestAuditFilters: the query parameters select, and bad ones are 400s
// that name the parameter.
func TestAuditFilters(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	e := newEnv(t, setup{now: func() time.Time { return now }})
	op := e.mint("operator")
	for i := range 3 {
		now = now.Add(time.Hour)
		e.doAs("POST", "/admin/v1/keys", map[string]any{"name": fmt.Sprint("k", i)}, op)
	}
	tests := []struct {
		query string
		want  int
	}{
		{"", 4},
		{"?resource=keys", 3},
		{"?resource=admin-tokens&action=create", 1},
		{"?actor=admin-token", 1},
		{"?from=2026-12-06T04:30:00Z", 2},
		{"?from=2026-12-06T04:00:00Z&to=2026-12-06T05:00:00Z", 1},
		{"?limit=2", 2},
	}
	for _, tc := range tests {
		if got := len(e.audit(tc.query).Data); got != tc.want {
			t.Errorf("GET /admin/v1/audit%s: %d entries, want %d", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct{ query, param string }{
		{"?from=yesterday", "from"},
		{"?to=2026", "to"},
		{"?limit=0", "limit"},
		{"?limit=5000", "limit"},
		{"?cursor=' OR 1=1 --", "cursor"},
		{"?actor=a&actor=b", "actor"},
	} {
		if got := param(e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/audit"+strings.ReplaceAll(tc.query, " ", "%20"), nil)); got != tc.param {
			t.Errorf("GET /admin/v1/audit%s: param %q, want %q", tc.query, got, tc.param)
		}
	}
	if code, _ := e.doAs("GET", "/admin/v1/audit", nil, e.mint("organiser")); code != http.StatusForbidden {
		t.Errorf("organiser reading the audit log: %d, want 403", code)
	}
}
