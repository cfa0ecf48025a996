package access_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// parallelStep is one move of TestAdmitTeamMaxParallel: key ("a" or "b")
// asks to start a request, or finish > 0 ends the finish-th admitted one.
type parallelStep struct {
	key    string
	finish int
	// refusedBy is "" when the request is to be admitted, else words the
	// 429's message must hold: "this key" or the team's name.
	refusedBy string
}

// TestAdmitTeamMaxParallel: a team's max_parallel_requests caps all its
// keys' requests in flight together, on top of each key's own cap; a
// request the team refuses holds no key slot, and Finish frees both.
func TestAdmitTeamMaxParallel(t *testing.T) {
	const teamWords = `team "Red" (red) already has`
	tests := []struct {
		name       string
		capA, capB int // the keys' max_parallel_requests
		teamCap    int
		steps      []parallelStep
	}{
		{name: "key cap only", capA: 2, steps: []parallelStep{
			{key: "a"}, {key: "a"}, {key: "a", refusedBy: "this key already has 2"},
			{key: "b"}, {key: "b"}, {key: "b"}, // b has no cap, the team none
			{finish: 1}, {key: "a"},
		}},
		{name: "team cap only", teamCap: 2, steps: []parallelStep{
			{key: "a"}, {key: "b"},
			{key: "a", refusedBy: teamWords + " 2"}, {key: "b", refusedBy: teamWords + " 2"},
			{finish: 1}, {key: "b"}, {key: "a", refusedBy: teamWords},
		}},
		{name: "both, the key's tighter", capA: 1, teamCap: 3, steps: []parallelStep{
			{key: "a"}, {key: "a", refusedBy: "this key already has 1"},
			{key: "b"}, {key: "b"}, {key: "b", refusedBy: teamWords + " 3"},
			{key: "a", refusedBy: "this key"},
			{finish: 1}, {key: "a"}, {key: "a", refusedBy: "this key"},
		}},
		{name: "both, the team's tighter", capA: 5, capB: 5, teamCap: 2, steps: []parallelStep{
			{key: "a"}, {key: "a"}, {key: "a", refusedBy: teamWords + " 2"}, {key: "b", refusedBy: teamWords},
			{finish: 2}, {key: "b"},
		}},
		// b fills the team; a takes its own slot, the team refuses, and
		// a's slot must be free again: once b finishes, a gets in.
		{name: "team refuses after the key's slot is taken", capA: 1, teamCap: 1, steps: []parallelStep{
			{key: "b"}, {key: "a", refusedBy: teamWords + " 1"}, {key: "a", refusedBy: teamWords},
			{finish: 1}, {key: "a"}, {key: "b", refusedBy: teamWords},
			{finish: 2}, {key: "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
			c := newChecker(clock, access.Options{})
			team := &auth.Team{ID: "red", Name: "Red", MaxParallel: tt.teamCap}
			keys := map[string]*auth.Principal{
				"a": {KeyID: "a", MaxParallel: tt.capA, Team: team},
				"b": {KeyID: "b", MaxParallel: tt.capB, Team: team},
			}
			var admitted []access.Grant
			for i, s := range tt.steps {
				if s.finish > 0 {
					c.Finish(ctx, admitted[s.finish-1])
					continue
				}
				g, err := c.Admit(ctx, keys[s.key], chat(10))
				switch {
				case s.refusedBy == "" && err != nil:
					t.Fatalf("step %d (key %s): %v, want admitted", i+1, s.key, err)
				case s.refusedBy == "":
					admitted = append(admitted, g)
				case err == nil:
					t.Fatalf("step %d (key %s): admitted, want refused by %q", i+1, s.key, s.refusedBy)
				default:
					e := asAPIError(t, err)
					if got, want := e.Code, "parallel_requests_exceeded"; got != want || e.Status != http.StatusTooManyRequests {
						t.Errorf("step %d: refusal = %d %s, want 429 %s", i+1, e.Status, got, want)
					}
					if !strings.Contains(e.Message, s.refusedBy) {
						t.Errorf("step %d: message %q, want it to contain %q", i+1, e.Message, s.refusedBy)
					}
				}
			}
		})
	}
}

// TestTeamMaxParallelAcrossReplicas: two replicas on one Redis share a
// team's cap, over two keys of the team; a slot taken on one replica is
// given back on the other.
func TestTeamMaxParallelAcrossReplicas(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	client, prefix := testRedis(t)
	replicas := []*access.Checker{
		newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)}),
		newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)}),
	}
	team := &auth.Team{ID: "red", Name: "Red", MaxParallel: 3}
	keys := []*auth.Principal{{KeyID: "a", MaxParallel: 3, Team: team}, {KeyID: "b", Team: team}}
	var held []access.Grant
	for i, p := range []*auth.Principal{keys[0], keys[1], keys[0]} {
		g, err := replicas[i%2].Admit(context.Background(), p, chat(10))
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		held = append(held, g)
	}
	for _, c := range replicas {
		for _, p := range keys {
			if e := refused(t, c, p, chat(10)); !strings.Contains(e.Message, `team "Red" (red)`) {
				t.Errorf("key %s: refusal %q, want the team named", p.KeyID, e.Message)
			}
		}
	}
	// a's two refusals took a key slot each and gave it back: with b's
	// request over, a's third fits under its cap of 3.
	replicas[0].Finish(context.Background(), held[1]) // b's, taken on replica 1
	admitN(t, replicas[1], keys[0], chat(10), 1)
	if e := refused(t, replicas[0], keys[0], chat(10)); !strings.Contains(e.Message, "this key already has 3") {
		t.Errorf("key a at its own cap: refusal %q, want the key's", e.Message)
	}
	replicas[1].Finish(context.Background(), held[0]) // a's, taken on replica 0
	admitN(t, replicas[0], keys[1], chat(10), 1)
}

// BenchmarkAdmitTeamParallel: a request of a capped key in a capped team,
// admitted and finished: two slots taken and given back, in memory.
func BenchmarkAdmitTeamParallel(b *testing.B) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	clock := limitstest.NewClock(now)
	c := newChecker(clock, access.Options{})
	team := &auth.Team{ID: "search", MaxParallel: 100}
	p := &auth.Principal{KeyID: "k", MaxParallel: 10, Team: team}
	r := chat(-1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g, err := c.Admit(ctx, p, r)
		if err != nil {
			b.Fatal(err)
		}
		c.Finish(ctx, g)
	}
}
