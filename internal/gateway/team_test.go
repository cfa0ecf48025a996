package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/access"
)

// TestAccessTeamRPM: the keys of a team share its rpm over HTTP; the
// refusal names the team, and a key of no team is not held back.
func TestAccessTeamRPM(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	e.clock.Advance(20 * time.Second)
	for i, key := range []string{"sk-team-red-1", "sk-team-red-2", "sk-team-red-1"} {
		if resp := e.chat(key); resp.status != http.StatusOK {
			t.Fatalf("request %d (%s): status = %d, want 200; body %s", i+1, key, resp.status, resp.body)
		}
	}
	resp := e.chat("sk-team-red-2")
	if got, want := resp.status, http.StatusTooManyRequests; got != want {
		t.Fatalf("4th request of the team: status = %d, want %d; body %s", got, want, resp.body)
	}
	checkErrorBody(t, resp.body, "rate_limit_exceeded")
	if _, msg := accessTestError(t, resp.body); !strings.Contains(msg, `3 requests per minute reached for team "Red" (red)`) {
		t.Errorf("message = %q, want it to name the team's limit", msg)
	}
	if got, want := resp.header.Get("Retry-After"), "40"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if resp := e.chat("sk-key-open"); resp.status != http.StatusOK {
		t.Errorf("a key of no team: status = %d, want 200", resp.status)
	}
	if got, want := e.up.calls(), 4; got != want {
		t.Errorf("upstream calls = %d, want %d (the refused one never sent)", got, want)
	}
	e.clock.Advance(40 * time.Second)
	if resp := e.chat("sk-team-red-2"); resp.status != http.StatusOK {
		t.Errorf("next minute: status = %d, want 200; body %s", resp.status, resp.body)
	}
}

// TestAccessTeamModels: a team's allow-list applies to its keys.
func TestAccessTeamModels(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	resp := e.chat("sk-team-mini")
	if got, want := resp.status, http.StatusForbidden; got != want {
		t.Fatalf("gpt-4o with a gpt-4o-mini team: status = %d, want %d; body %s", got, want, resp.body)
	}
	checkErrorBody(t, resp.body, "model_not_allowed")
	if got := e.up.calls(); got != 0 {
		t.Errorf("upstream calls = %d, want 0", got)
	}
}

// TestAccessTeamUsageRecord: a team key's usage record carries its team.
func TestAccessTeamUsageRecord(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	if resp := e.chat("sk-team-red-1"); resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
	}
	if resp := e.chat("sk-key-open"); resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
	}
	for i, want := range []struct{ key, team string }{{"team-red-1", "red"}, {"key-open", ""}} {
		rec := e.recs.wait(t, i+1)
		if rec.KeyID != want.key || rec.TeamID != want.team {
			t.Errorf("record %d = key %q team %q, want key %q team %q", i+1, rec.KeyID, rec.TeamID, want.key, want.team)
		}
	}
}

// TestRealtimeTeamUsage: a realtime session of a team's key is charged to
// the team, its responses and its close alike.
func TestRealtimeTeamUsage(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-team-rt")
	until(t, c, "session.created")
	ask(t, c, "hello there")
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close: %v", err)
	}
	e.recs.wait(t, 2)
	for i, r := range e.recs.all() {
		if r.KeyID != "team-rt" || r.TeamID != "red" {
			t.Errorf("record %d = key %q team %q, want key team-rt, team red", i+1, r.KeyID, r.TeamID)
		}
	}
}
