package gateway

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/testenv"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestRealtimeTeamMaxParallelAcrossReplicas: a Realtime session holds its
// team's parallel-request slot until it ends, on every replica sharing
// Redis: team "pair" (max_parallel_requests 1) has two keys, and while
// one key's session is open the other key's is refused with the team
// named, until the first closes.
func TestRealtimeTeamMaxParallelAcrossReplicas(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	prefix := "spillway-test:" + rand.Text() + ":"
	e := newRTEnv(t, rtOptions{replicas: 2, limiter: func(now func() time.Time) limits.Limiter {
		return limits.NewRedis(client, prefix, now)
	}})

	first, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-pair-a")
	next(t, first)
	for replica := range 2 {
		_, resp, err := e.dial(replica, "/v1/realtime?model=gpt-realtime", "sk-pair-b")
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("pair-b on replica %d while pair-a's session is open: err %v; want a 429", replica, err)
		}
		body := rtBody(resp)
		if !strings.Contains(body, "parallel_requests_exceeded") || !strings.Contains(body, `team \"Pair\" (pair)`) {
			t.Errorf("refusal on replica %d = %s; want parallel_requests_exceeded naming team Pair", replica, body)
		}
	}
	// A key outside the team is not affected.
	other, _ := e.mustDial(1, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	next(t, other)

	if err := first.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	// The closed session's record: its slots are back.
	e.recs.waitFor(t, func(r usage.Record) bool { return r.KeyID == "pair-a" && r.Status == http.StatusOK })
	second, _ := e.mustDial(1, "/v1/realtime?model=gpt-realtime", "sk-pair-b")
	next(t, second)
}
