package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLiteLLMKeysAndTeams walks a LiteLLM script's calls through the key
// and team routes, checking LiteLLM's field names and shapes, and that
// the native API sees the same keys and teams.
func TestLiteLLMKeysAndTeams(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		team := e.admin(http.StatusOK, "POST", "/team/new", map[string]any{
			"team_alias": "Search", "team_id": "search", "models": []string{"gpt-4o"},
			"tpm_limit": 50000, "rpm_limit": 100, "max_budget": 250.0, "budget_duration": "1mo", "max_parallel_requests": 6,
			"metadata": map[string]any{"cc": "7"}, "members_with_roles": []any{map[string]any{"role": "admin", "user_id": "ann"}},
		}).json(t)
		monthEnd := "2026-12-01T00:00:00Z"
		for field, want := range map[string]any{
			"team_id": "search", "team_alias": "Search", "models": []any{"gpt-4o"}, "tpm_limit": 50000.0, "rpm_limit": 100.0, "max_parallel_requests": 6.0,
			"max_budget": 250.0, "budget_duration": "1mo", "budget_reset_at": monthEnd, "spend": 0.0,
			"metadata": map[string]any{"cc": "7"}, "blocked": false, "spillway_budgets": map[string]any{"daily": 0.0, "monthly": 250.0},
			"spillway_warnings": []any{"members_with_roles: accepted and ignored; a team's members are keys: /key/generate or /key/update with team_id"},
		} {
			if diff := cmp.Diff(want, team[field]); diff != "" {
				t.Errorf("/team/new %s (-want +got):\n%s", field, diff)
			}
		}
		native := e.admin(http.StatusOK, "GET", "/admin/v1/teams/search", nil).json(t)
		if native["rpm"] != 100.0 || native["name"] != "Search" || native["max_parallel_requests"] != 6.0 {
			t.Errorf("native view of the LiteLLM team = %v", native)
		}

		gen := e.admin(http.StatusOK, "POST", "/key/generate", map[string]any{
			"key_alias": "search-bot", "duration": "30d", "models": []string{"gpt-4o"}, "max_budget": 10.0,
			"budget_duration": "30d", "tpm_limit": 1000, "rpm_limit": 10, "team_id": "search",
			"user_id": "ann@example.com", "metadata": map[string]any{"app": "bot"}, "tags": []string{"prod"},
			"max_parallel_requests": 4,
		}).json(t)
		secret, _ := gen["key"].(string)
		token, _ := gen["token"].(string)
		if !strings.HasPrefix(secret, "sk-") || !strings.HasPrefix(token, "key_") {
			t.Fatalf("/key/generate key %q token %q; want sk-... and the key's id", secret, token)
		}
		expires := testNow.Add(30 * 24 * time.Hour).Format(time.RFC3339)
		wantKey := map[string]any{
			"token": token, "key_name": gen["key_name"], "key_alias": "search-bot", "spend": 0.0, "max_budget": 10.0,
			"budget_duration": "1mo", "budget_reset_at": monthEnd, "expires": expires, "models": []any{"gpt-4o"},
			"tpm_limit": 1000.0, "rpm_limit": 10.0, "max_parallel_requests": 4.0, "user_id": "ann@example.com", "team_id": "search",
			"metadata": map[string]any{"app": "bot"}, "blocked": false,
			"created_at": testNow.Format(time.RFC3339), "updated_at": testNow.Format(time.RFC3339),
		}
		withSecret := map[string]any{"key": secret, "spillway_warnings": []any{
			`budget_duration: "30d" is applied as the calendar month (UTC), which is how Spillway resets monthly budgets`,
			"tags: accepted and ignored; put them in metadata",
		}}
		for k, v := range wantKey {
			withSecret[k] = v
		}
		if diff := cmp.Diff(withSecret, gen); diff != "" {
			t.Errorf("/key/generate (-want +got):\n%s", diff)
		}

		// /key/info finds it by the key and by its token.
		for _, ref := range []string{secret, token} {
			info := e.admin(http.StatusOK, "GET", "/key/info?key="+url.QueryEscape(ref), nil).json(t)
			if diff := cmp.Diff(map[string]any{"key": token, "info": wantKey}, info); diff != "" {
				t.Errorf("/key/info by %s (-want +got):\n%s", ref[:4], diff)
			}
		}
		nativeKey := e.admin(http.StatusOK, "GET", "/admin/v1/keys/"+token, nil).json(t)
		if nativeKey["team_id"] != "search" || nativeKey["owner"] != "ann@example.com" || nativeKey["name"] != "search-bot" {
			t.Errorf("native view of the LiteLLM key = %v", nativeKey)
		}

		// /key/update: null clears a limit, all-proxy-models allows all.
		e.clock.Add(time.Minute)
		upd := e.admin(http.StatusOK, "POST", "/key/update", map[string]any{
			"key": secret, "rpm_limit": nil, "models": []string{"all-proxy-models"}, "team_id": nil,
		}).json(t)
		if upd["rpm_limit"] != nil || len(upd["models"].([]any)) != 0 || upd["team_id"] != nil || upd["tpm_limit"] != 1000.0 {
			t.Errorf("/key/update = %v; want rpm_limit null, models [], no team, tpm_limit kept", upd)
		}
		e.admin(http.StatusOK, "POST", "/key/update", map[string]any{"key": token, "team_id": "search"})

		// /key/list: tokens, or whole keys, a page at a time.
		other := e.admin(http.StatusOK, "POST", "/key/generate", map[string]any{"key_alias": "other"}).json(t)
		list := e.admin(http.StatusOK, "GET", "/key/list?team_id=search", nil).json(t)
		if diff := cmp.Diff(map[string]any{"keys": []any{token}, "total_count": 1.0, "current_page": 1.0, "total_pages": 1.0}, list); diff != "" {
			t.Errorf("/key/list?team_id=search (-want +got):\n%s", diff)
		}
		page := e.admin(http.StatusOK, "GET", "/key/list?size=1&page=2&return_full_object=true", nil).json(t)
		keys := page["keys"].([]any)
		if page["total_count"] != 2.0 || page["total_pages"] != 2.0 || len(keys) != 1 || keys[0].(map[string]any)["token"] == nil {
			t.Errorf("/key/list page 2 of size 1, full = %v", page)
		}

		// /team/info and /team/list carry the team's keys.
		info := e.admin(http.StatusOK, "GET", "/team/info?team_id=search", nil).json(t)
		if ti := info["team_info"].(map[string]any); info["team_id"] != "search" || len(info["keys"].([]any)) != 1 || ti["team_alias"] != "Search" || ti["max_parallel_requests"] != 6.0 {
			t.Errorf("/team/info = %v", info)
		}
		e.admin(http.StatusOK, "POST", "/team/new", map[string]any{"team_id": "ads", "team_alias": "Ads"})
		for _, tc := range []struct {
			query string
			want  []string
		}{{"", []string{"ads", "search"}}, {"?user_id=ann@example.com", []string{"search"}}, {"?user_id=nobody", nil}, {"?organization_id=default_organization", []string{"ads", "search"}}} {
			code, raw := e.do("GET", "/team/list"+tc.query, nil)
			var teams []map[string]any
			if err := json.Unmarshal(raw, &teams); code != http.StatusOK || err != nil {
				t.Fatalf("/team/list%s = %d %s; want a JSON array of teams", tc.query, code, raw)
			}
			var got []string
			for _, tm := range teams {
				got = append(got, tm["team_id"].(string))
				if _, ok := tm["team_memberships"]; !ok || tm["keys"] == nil {
					t.Errorf("/team/list%s item %v lacks keys or team_memberships", tc.query, tm["team_id"])
				}
			}
			if !cmp.Equal(got, tc.want) {
				t.Errorf("/team/list%s teams = %v, want %v (ordered by alias)", tc.query, got, tc.want)
			}
		}

		// /team/update moves the budget to a day.
		upTeam := e.admin(http.StatusOK, "POST", "/team/update", map[string]any{"team_id": "search", "max_budget": 5, "budget_duration": "1d", "max_parallel_requests": nil}).json(t)
		data := upTeam["data"].(map[string]any)
		if upTeam["team_id"] != "search" || data["budget_duration"] != "1d" || data["max_budget"] != 5.0 || data["max_parallel_requests"] != nil ||
			!cmp.Equal(data["spillway_budgets"], map[string]any{"daily": 5.0, "monthly": 0.0}) {
			t.Errorf("/team/update = %v", upTeam)
		}

		// /key/delete by key and by alias; then the key is gone.
		del := e.admin(http.StatusOK, "POST", "/key/delete", map[string]any{"keys": []string{secret}, "key_aliases": []string{"other"}}).json(t)
		if diff := cmp.Diff(map[string]any{"deleted_keys": []any{token, other["token"]}}, del); diff != "" {
			t.Errorf("/key/delete (-want +got):\n%s", diff)
		}
		e.admin(http.StatusNotFound, "GET", "/key/info?key="+token, nil)
		e.wantNoLeak(secret, 1)

		// /team/delete deletes the team and, as LiteLLM does, its keys; a
		// list naming a missing team deletes nothing.
		member := e.admin(http.StatusOK, "POST", "/key/generate", map[string]any{"team_id": "ads"}).json(t)["token"].(string)
		outsider := e.admin(http.StatusOK, "POST", "/key/generate", map[string]any{}).json(t)["token"].(string)
		if res := e.admin(http.StatusNotFound, "POST", "/team/delete", map[string]any{"team_ids": []string{"ads", "ghost"}}).err(t); param(res) != "team_ids" {
			t.Errorf("/team/delete with a missing team: param %q, want team_ids", param(res))
		}
		e.admin(http.StatusOK, "GET", "/team/info?team_id=ads", nil)
		before := e.reloads.Load()
		gone := e.admin(http.StatusOK, "POST", "/team/delete", map[string]any{"team_ids": []string{"ads"}}).json(t)
		if got := e.reloads.Load() - before; got != 1 {
			t.Errorf("/team/delete of a team and its keys reloaded access %d times, want once", got)
		}
		if diff := cmp.Diff(map[string]any{"deleted_teams": []any{"ads"}}, gone); diff != "" {
			t.Errorf("/team/delete (-want +got):\n%s", diff)
		}
		e.admin(http.StatusNotFound, "GET", "/team/info?team_id=ads", nil)
		e.admin(http.StatusNotFound, "GET", "/key/info?key="+member, nil)
		e.admin(http.StatusOK, "GET", "/key/info?key="+outsider, nil)
	})
}

// TestLiteLLMAccessRefusals: limits Spillway cannot enforce are refused,
// not dropped, and every bad value names its field and the fix.
func TestLiteLLMAccessRefusals(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	e.admin(http.StatusOK, "POST", "/team/new", map[string]any{"team_id": "t"})
	gen := e.admin(http.StatusOK, "POST", "/key/generate", map[string]any{"blocked": true}).json(t)
	revoked := gen["token"].(string)
	if gen["blocked"] != true {
		t.Errorf("generated with blocked: true: blocked = %v", gen["blocked"])
	}
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		param, msg   string
	}{
		{"key parallel requests below zero", "POST", "/key/generate", map[string]any{"max_parallel_requests": -1}, 400, "max_parallel_requests", ""},
		{"key model budget", "POST", "/key/generate", map[string]any{"model_max_budget": map[string]any{"gpt-4o": map[string]any{"budget_limit": 1}}}, 400, "model_max_budget", "refuses it rather than ignore it"},
		{"key model rpm", "POST", "/key/generate", map[string]any{"model_rpm_limit": map[string]any{"gpt-4o": 5}}, 400, "model_rpm_limit", "use rpm_limit"},
		{"key budget every 2h", "POST", "/key/generate", map[string]any{"max_budget": 1, "budget_duration": "2h"}, 400, "budget_duration", "1d"},
		{"key duration", "POST", "/key/generate", map[string]any{"duration": "forever"}, 400, "duration", "30d"},
		{"key chosen", "POST", "/key/generate", map[string]any{"key": "sk-mine"}, 400, "key", "generates keys"},
		{"key spend", "POST", "/key/generate", map[string]any{"spend": 3}, 400, "spend", "usage records"},
		{"key missing team", "POST", "/key/generate", map[string]any{"team_id": "nope"}, 400, "team_id", `no team "nope"`},
		{"key negative rpm", "POST", "/key/generate", map[string]any{"rpm_limit": -1}, 400, "rpm_limit", "must be 0"},
		{"key wrong type", "POST", "/key/generate", map[string]any{"tpm_limit": "lots"}, 400, "tpm_limit", "whole number"},
		{"unblock", "POST", "/key/update", map[string]any{"key": revoked, "blocked": false}, 400, "blocked", "cannot be unblocked"},
		{"update without key", "POST", "/key/update", map[string]any{"rpm_limit": 1}, 400, "key", "key is required"},
		{"update unknown key", "POST", "/key/update", map[string]any{"key": "sk-nope"}, 404, "key", "no such key"},
		{"info without key", "GET", "/key/info", nil, 400, "key", "key is required"},
		{"delete nothing", "POST", "/key/delete", map[string]any{}, 400, "keys", "keys"},
		{"delete unknown alias", "POST", "/key/delete", map[string]any{"key_aliases": []string{"ghost"}}, 400, "key_aliases", "nothing was deleted"},
		{"list bad size", "GET", "/key/list?size=1000", nil, 400, "size", "1 to 100"},
		{"team budget without period", "POST", "/team/new", map[string]any{"max_budget": 100}, 400, "budget_duration", "is required with max_budget"},
		{"team weekly budget", "POST", "/team/new", map[string]any{"max_budget": 100, "budget_duration": "7d"}, 400, "budget_duration", "1mo"},
		{"team parallel requests below zero", "POST", "/team/new", map[string]any{"max_parallel_requests": -1}, 400, "max_parallel_requests", "must be 0"},
		{"team update parallel requests below zero", "POST", "/team/update", map[string]any{"team_id": "t", "max_parallel_requests": -3}, 400, "max_parallel_requests", "must be 0"},
		{"team member budget", "POST", "/team/new", map[string]any{"team_member_budget": 5}, 400, "team_member_budget", "each key"},
		{"team blocked", "POST", "/team/new", map[string]any{"blocked": true}, 400, "blocked", "cannot block a team"},
		{"team taken", "POST", "/team/new", map[string]any{"team_id": "t"}, 409, "id", "already exists"},
		{"team bad id", "POST", "/team/new", map[string]any{"team_id": "no spaces"}, 400, "team_id", "invalid id"},
		{"team update without id", "POST", "/team/update", map[string]any{"rpm_limit": 1}, 400, "team_id", "team_id is required"},
		{"team update missing", "POST", "/team/update", map[string]any{"team_id": "nope"}, 404, "id", "no team"},
		{"team info without id", "GET", "/team/info", nil, 400, "team_id", "team_id is required"},
		{"team list by organization", "GET", "/team/list?organization_id=acme", nil, 400, "organization_id", "no organizations"},
		{"not an object", "POST", "/team/new", `[1,2]`, 400, "", "JSON object"},
		{"huge metadata", "POST", "/key/generate", map[string]any{"metadata": map[string]any{"x": strings.Repeat("a", 17<<10)}}, 400, "metadata", "the limit is"},
		{"metadata not an object", "POST", "/team/new", map[string]any{"metadata": []int{1}}, 400, "metadata", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.admin(tt.status, tt.method, tt.path, tt.body).err(t)
			if param(got) != tt.param || !strings.Contains(got.Error.Message, tt.msg) {
				t.Errorf("error = param %q %q; want param %q, message with %q", param(got), got.Error.Message, tt.param, tt.msg)
			}
		})
	}
	list := e.admin(http.StatusOK, "GET", "/key/list", nil).json(t)
	if list["total_count"] != 1.0 {
		t.Errorf("keys after refused requests = %v, want only the blocked one", list["keys"])
	}
	teams := e.admin(http.StatusOK, "GET", "/admin/v1/teams", nil).json(t)
	if got := ids(teams["data"]); !cmp.Equal(got, []string{"t"}) {
		t.Errorf("teams after refused requests = %v, want only t", got)
	}
}
