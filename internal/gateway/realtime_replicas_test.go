package gateway

import (
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/testenv"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestRealtimeSessionCapAcrossReplicas: two gateways counting in one
// Redis enforce one cap on a key's parallel sessions, and a closed
// session gives its slot back. Without Redis the test skips (fails under
// CI): testenv decides.
func TestRealtimeSessionCapAcrossReplicas(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	prefix := "spillway-test:" + rand.Text() + ":"
	e := newRTEnv(t, rtOptions{replicas: 2, sessions: 2, limiter: func(now func() time.Time) limits.Limiter {
		return limits.NewRedis(client, prefix, now)
	}})

	first, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-two")
	next(t, first)
	second, _ := e.mustDial(1, "/v1/realtime?model=gpt-realtime", "sk-key-two")
	next(t, second)
	for replica := range 2 {
		_, resp, err := e.dial(replica, "/v1/realtime?model=gpt-realtime", "sk-key-two")
		code, _ := rtErrorCode(t, resp)
		if err == nil || resp.StatusCode != http.StatusTooManyRequests || code != "too_many_sessions" {
			t.Errorf("third session on replica %d: err %v, got %d %s; want 429 too_many_sessions", replica, err, resp.StatusCode, code)
		}
	}
	// Another key is not affected.
	other, _ := e.mustDial(1, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	next(t, other)

	if err := first.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	// The closed session's record: its slot is back.
	e.recs.waitFor(t, func(r usage.Record) bool { return r.KeyID == "key-two" && r.Status == http.StatusOK })
	third, _ := e.mustDial(1, "/v1/realtime?model=gpt-realtime", "sk-key-two")
	next(t, third)
}
