package main

import (
	"net/http"
	"testing"
)

// testTeamRPMAcrossReplicas: a team with rpm 40 and two keys, created
// through LiteLLM's API on one replica and the native one on another,
// gets 40 requests in total across its keys and three replicas sharing
// Redis. run makes the team's id unique in the shared Redis.
func testTeamRPMAcrossReplicas(t *testing.T, replicas []*process, admin, run string) {
	teamID := "cluster-team-" + run
	status, team := call(t, http.MethodPost, "http://"+replicas[0].url+"/team/new", admin, map[string]any{
		"team_id": teamID, "team_alias": "Cluster team", "rpm_limit": 40,
	})
	if status != http.StatusOK {
		t.Fatalf("/team/new: %d %v", status, team)
	}
	var keys []string
	for i, r := range replicas[1:] {
		status, k := call(t, http.MethodPost, "http://"+r.url+"/admin/v1/keys", admin, map[string]any{"name": "member", "team_id": teamID, "rpm": 100})
		if status != http.StatusCreated {
			t.Fatalf("create key %d: %d %v", i, status, k)
		}
		keys = append(keys, k["key"].(string))
	}
	for _, r := range replicas {
		for _, key := range keys {
			eventually(t, "every replica knows the team's keys", func() bool {
				s, _ := call(t, http.MethodGet, "http://"+r.url+"/v1/models", key, nil)
				return s == http.StatusOK
			})
		}
	}
	admitted, refused := 0, 0
	for _, key := range keys {
		counts := burst(t, urls(replicas), key, "gpt-4o-mini", 50, 10)
		admitted += counts[http.StatusOK]
		refused += counts[http.StatusTooManyRequests]
	}
	if admitted != 40 || refused != 60 {
		t.Errorf("team of 2 keys with rpm 40, 100 requests across 3 replicas: admitted %d, refused %d; want exactly 40 and 60", admitted, refused)
	}
	// The team's usage, read back by team.
	eventually(t, "the team's usage is recorded", func() bool {
		s, u := call(t, http.MethodGet, "http://"+replicas[2].url+"/admin/v1/usage?team="+teamID, admin, nil)
		rows, _ := u["data"].([]any)
		if s != http.StatusOK || len(rows) != 1 {
			return false
		}
		return rows[0].(map[string]any)["requests"] == 100.0
	})
}
