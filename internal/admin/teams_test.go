package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// createKey creates a key from body and returns its id and the key.
func (e *accessEnv) createKey(body map[string]any) (id, key string) {
	e.t.Helper()
	m := e.admin(http.StatusCreated, "POST", "/admin/v1/keys", body).json(e.t)
	id, _ = m["id"].(string)
	key, _ = m["key"].(string)
	if id == "" || key == "" {
		e.t.Fatalf("created key has no id or key: %v", m)
	}
	return id, key
}

func TestTeamsCRUD(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		created := e.admin(http.StatusCreated, "POST", "/admin/v1/teams", map[string]any{
			"id": "platform", "name": "Platform", "models": []string{"gpt-4o", " gpt-4o-mini ", "gpt-4o"},
			"rpm": 600, "tpm": 100000, "budget": map[string]any{"daily": 20.5, "monthly": 300},
			"metadata": map[string]any{"cost_center": "cc-1"}, "max_parallel_requests": 5,
		}).json(t)
		now := testNow.Format(time.RFC3339)
		want := map[string]any{
			"id": "platform", "name": "Platform", "models": []any{"gpt-4o", "gpt-4o-mini"},
			"rpm": 600.0, "tpm": 100000.0, "budget": map[string]any{"daily": 20.5, "monthly": 300.0},
			"metadata": map[string]any{"cost_center": "cc-1"}, "max_parallel_requests": 5.0, "keys": 0.0,
			"spend": map[string]any{"day": 0.0, "month": 0.0}, "created_at": now, "updated_at": now,
		}
		if diff := cmp.Diff(want, created); diff != "" {
			t.Errorf("POST (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, e.admin(http.StatusOK, "GET", "/admin/v1/teams/platform", nil).json(t)); diff != "" {
			t.Errorf("GET (-want +got):\n%s", diff)
		}

		// A generated id, and the name defaulting to it.
		gen := e.admin(http.StatusCreated, "POST", "/admin/v1/teams", map[string]any{}).json(t)
		genID, _ := gen["id"].(string)
		if !strings.HasPrefix(genID, "team_") || gen["name"] != genID {
			t.Errorf("generated team id %q name %v; want team_... named by its id", genID, gen["name"])
		}

		// Keys join through the key API and the team's key routes.
		k1, _ := e.createKey(map[string]any{"name": "one", "team_id": "platform"})
		k2, _ := e.createKey(map[string]any{"name": "two"})
		added := e.admin(http.StatusOK, "POST", "/admin/v1/teams/platform/keys", map[string]any{"key_id": k2}).json(t)
		if added["team_id"] != "platform" {
			t.Errorf("added key team_id = %v, want platform", added["team_id"])
		}
		list := e.admin(http.StatusOK, "GET", "/admin/v1/teams/platform/keys", nil).json(t)
		if got := ids(list["data"]); !cmp.Equal(got, sorted(k1, k2)) {
			t.Errorf("team keys = %v, want %v", got, sorted(k1, k2))
		}
		if got := ids(e.admin(http.StatusOK, "GET", "/admin/v1/keys?team=platform", nil).json(t)["data"]); !cmp.Equal(got, sorted(k1, k2)) {
			t.Errorf("keys?team=platform = %v, want %v", got, sorted(k1, k2))
		}
		teams := e.admin(http.StatusOK, "GET", "/admin/v1/teams", nil).json(t)
		if got := ids(teams["data"]); !cmp.Equal(got, sorted(genID, "platform")) {
			t.Errorf("teams = %v", got)
		}
		if n := e.admin(http.StatusOK, "GET", "/admin/v1/teams/platform", nil).json(t)["keys"]; n != 2.0 {
			t.Errorf("keys count = %v, want 2", n)
		}

		// PATCH changes what it names; GET, edit and send back works.
		e.clock.Add(time.Hour)
		got := e.admin(http.StatusOK, "GET", "/admin/v1/teams/platform", nil).json(t)
		got["rpm"], got["models"] = 0, []string{}
		patched := e.admin(http.StatusOK, "PATCH", "/admin/v1/teams/platform", got).json(t)
		if patched["rpm"] != 0.0 || len(patched["models"].([]any)) != 0 || patched["tpm"] != 100000.0 || patched["max_parallel_requests"] != 5.0 || patched["updated_at"] == now {
			t.Errorf("after PATCH = %v; want rpm 0, no models, tpm and max_parallel_requests kept, updated_at moved", patched)
		}
		capped := e.admin(http.StatusOK, "PATCH", "/admin/v1/teams/platform", map[string]any{"max_parallel_requests": 0}).json(t)
		if capped["max_parallel_requests"] != 0.0 || capped["tpm"] != 100000.0 {
			t.Errorf("after PATCH max_parallel_requests 0 = %v; want the cap gone, tpm kept", capped)
		}

		// A key leaves; one not in the team cannot be removed from it.
		e.admin(http.StatusNoContent, "DELETE", "/admin/v1/teams/platform/keys/"+k2, nil)
		if e := e.admin(http.StatusNotFound, "DELETE", "/admin/v1/teams/platform/keys/"+k2, nil).err(t); e.Error.Code != "key_not_found" {
			t.Errorf("removing a key not in the team: code %q", e.Error.Code)
		}
		if k := e.admin(http.StatusOK, "GET", "/admin/v1/keys/"+k2, nil).json(t); k["team_id"] != "" {
			t.Errorf("removed key team_id = %v, want \"\"", k["team_id"])
		}

		// Deleting the team keeps its keys, out of any team.
		e.admin(http.StatusNoContent, "DELETE", "/admin/v1/teams/platform", nil)
		e.admin(http.StatusNotFound, "GET", "/admin/v1/teams/platform", nil)
		if k := e.admin(http.StatusOK, "GET", "/admin/v1/keys/"+k1, nil).json(t); k["team_id"] != "" {
			t.Errorf("key of a deleted team: team_id = %v, want \"\"", k["team_id"])
		}
	})
}

func ids(data any) []string {
	var out []string
	list, _ := data.([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestTeamsBadInput: every bad body or reference is a 4xx naming what to
// fix, and changes nothing.
func TestTeamsBadInput(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	e.admin(http.StatusCreated, "POST", "/admin/v1/teams", map[string]any{"id": "red"})
	keyID, _ := e.createKey(map[string]any{"name": "k"})
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		param, code  string
		msg          string // in the message
	}{
		{"negative rpm", "POST", "/admin/v1/teams", map[string]any{"rpm": -1}, 400, "rpm", "invalid_team", "must be 0"},
		{"negative max_parallel_requests", "POST", "/admin/v1/teams", map[string]any{"max_parallel_requests": -2}, 400, "max_parallel_requests", "invalid_team", "must be 0"},
		{"negative budget", "POST", "/admin/v1/teams", map[string]any{"budget": map[string]any{"daily": -5}}, 400, "budget.daily", "invalid_team", "US dollars"},
		{"bad id", "POST", "/admin/v1/teams", map[string]any{"id": "a b/c"}, 400, "id", "invalid_team", "invalid id"},
		{"taken id", "POST", "/admin/v1/teams", map[string]any{"id": "red"}, 409, "id", "team_exists", "already exists"},
		{"unknown field", "POST", "/admin/v1/teams", map[string]any{"max_budget": 5}, 400, "max_budget", "unknown_field", "GET /admin/v1/teams"},
		{"empty model", "POST", "/admin/v1/teams", map[string]any{"models": []string{""}}, 400, "models[0]", "invalid_team", "is empty"},
		{"wrong type", "POST", "/admin/v1/teams", `{"rpm": "many"}`, 400, "rpm", "invalid_type", "want"},
		{"change id", "PATCH", "/admin/v1/teams/red", map[string]any{"id": "blue"}, 400, "id", "invalid_team", "cannot change"},
		{"patch missing", "PATCH", "/admin/v1/teams/nope", map[string]any{"rpm": 1}, 404, "id", "team_not_found", "GET /admin/v1/teams"},
		{"delete missing", "DELETE", "/admin/v1/teams/nope", nil, 404, "id", "team_not_found", "no team"},
		{"add without key_id", "POST", "/admin/v1/teams/red/keys", map[string]any{}, 400, "key_id", "invalid_team", "key_id is required"},
		{"add missing key", "POST", "/admin/v1/teams/red/keys", map[string]any{"key_id": "key_nope"}, 404, "key_id", "key_not_found", "no key"},
		{"add to missing team", "POST", "/admin/v1/teams/nope/keys", map[string]any{"key_id": keyID}, 404, "id", "team_not_found", "no team"},
		{"key with missing team", "POST", "/admin/v1/keys", map[string]any{"team_id": "nope"}, 400, "team_id", "invalid_key", `no team "nope"`},
		{"keys by event and team", "GET", "/admin/v1/keys?event=e&team=red", nil, 400, "team", "invalid_parameter", "not both"},
		{"key moved to missing team", "PATCH", "/admin/v1/keys/" + keyID, map[string]any{"team_id": "nope"}, 400, "team_id", "invalid_key", "POST /admin/v1/teams"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.admin(tt.status, tt.method, tt.path, tt.body)
			got := res.err(t)
			if param(got) != tt.param || got.Error.Code != tt.code || !strings.Contains(got.Error.Message, tt.msg) {
				t.Errorf("error = param %q code %q %q; want param %q code %q, message with %q", param(got), got.Error.Code, got.Error.Message, tt.param, tt.code, tt.msg)
			}
		})
	}
	teams := e.admin(http.StatusOK, "GET", "/admin/v1/teams", nil).json(t)
	if got := ids(teams["data"]); !cmp.Equal(got, []string{"red"}) {
		t.Errorf("teams after refused requests = %v, want only red", got)
	}
	if k := e.admin(http.StatusOK, "GET", "/admin/v1/keys/"+keyID, nil).json(t); k["team_id"] != "" {
		t.Errorf("key after refused moves: team_id = %v", k["team_id"])
	}
}

// TestUsageByTeam: group_by=team and team= read the records' team, and a
// team's spend shows on the team.
func TestUsageByTeam(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		e.admin(http.StatusCreated, "POST", "/admin/v1/teams", map[string]any{"id": "red"})
		at := testNow.Add(-time.Hour)
		records := []usage.Record{
			{Time: at, RequestID: "a", KeyID: "k1", TeamID: "red", Model: "gpt-4o", Status: 200, TotalTokens: 10, Cost: 1.5},
			{Time: at, RequestID: "b", KeyID: "k2", TeamID: "red", Model: "gpt-4o", Status: 200, TotalTokens: 20, Cost: 2},
			{Time: at, RequestID: "c", KeyID: "k3", TeamID: "blue", Model: "gpt-4o", Status: 200, TotalTokens: 5, Cost: 4},
			{Time: at, RequestID: "d", KeyID: "k4", Model: "gpt-4o", Status: 200, TotalTokens: 1, Cost: 8},
			{Time: testNow.AddDate(0, 0, -2), RequestID: "e", KeyID: "k1", TeamID: "red", Model: "gpt-4o", Status: 200, TotalTokens: 1, Cost: 16},
		}
		if err := e.store.InsertUsage(t.Context(), records); err != nil {
			t.Fatal(err)
		}
		grouped := e.admin(http.StatusOK, "GET", "/admin/v1/usage?group_by=team&from=2026-11-25", nil).json(t)
		got := map[string]float64{}
		for _, row := range grouped["data"].([]any) {
			m := row.(map[string]any)
			got[m["group"].(string)] = m["cost"].(float64)
		}
		if diff := cmp.Diff(map[string]float64{"": 8, "blue": 4, "red": 3.5}, got); diff != "" {
			t.Errorf("group_by=team (-want +got):\n%s", diff)
		}
		filtered := e.admin(http.StatusOK, "GET", "/admin/v1/usage?team=red", nil).json(t)
		rows := filtered["data"].([]any)
		if len(rows) != 1 || rows[0].(map[string]any)["requests"] != 3.0 {
			t.Errorf("team=red over 7 days = %v, want 3 requests", rows)
		}
		team := e.admin(http.StatusOK, "GET", "/admin/v1/teams/red", nil).json(t)
		if diff := cmp.Diff(map[string]any{"day": 3.5, "month": 19.5}, team["spend"]); diff != "" {
			t.Errorf("team spend (-want +got):\n%s", diff)
		}
		if res := e.admin(http.StatusBadRequest, "GET", "/admin/v1/usage?team=a&team=b", nil).err(t); param(res) != "team" {
			t.Errorf("team given twice: param %q, want team", param(res))
		}
	})
}

// TestEventInfoTeamModels: the playground's eventinfo narrows a key's
// models by its team's, as the gateway does.
func TestEventInfoTeamModels(t *testing.T) {
	e := eventInfoEnv(t)
	e.admin(http.StatusCreated, "POST", "/admin/v1/teams", map[string]any{"id": "mini", "models": []string{"gpt-4o-mini"}})
	_, key := e.createKey(map[string]any{"team_id": "mini"})
	res := e.send(request{method: "POST", path: "/api/v1/eventinfo", header: http.Header{"Api-Key": {key}}})
	if res.code != http.StatusOK {
		t.Fatalf("eventinfo: status %d; body %s", res.code, res.body)
	}
	info := res.json(t)
	if diff := cmp.Diff([]any{"gpt-4o-mini"}, info["models"]); diff != "" {
		t.Errorf("models of a key of a gpt-4o-mini team (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"openai-chat": []any{"gpt-4o-mini"}}, info["capabilities"]); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
}
