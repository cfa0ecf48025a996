package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRealtimeHungUpgradeIsNoticed: a deployment that takes a Realtime
// upgrade and never answers it is a failure once it kept the client
// waiting past its slow threshold (by the injected clock), even though the
// client gave up first; a client that leaves sooner is no fault of the
// deployment's. As TestHungDeploymentIsNoticed for HTTP attempts.
func TestRealtimeHungUpgradeIsNoticed(t *testing.T) {
	got := make(chan struct{}, 16)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hung.Close() })
	e := newRTEnv(t, rtOptions{eastEndpoint: hung.URL})

	east := func() (failures int64, lastErr string) {
		for _, s := range e.router[0].Status() {
			if s.ID == "rt-east" {
				return s.Failures, s.LastError
			}
		}
		t.Fatal("rt-east not in the router's status")
		return 0, ""
	}
	// abandon leaves the n-th session's upgrade after waited; once the
	// gateway recorded it, it has reported the attempt to the router.
	abandon := func(waited time.Duration, n int) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, _, err := websocket.Dial(ctx, e.url(0, "/v1/realtime?model=gpt-realtime"),
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer sk-key-open"}}})
			if err == nil {
				c.CloseNow()
			}
		}()
		select {
		case <-got: // the hung deployment holds the upgrade
		case <-time.After(10 * time.Second): // liveness bound only
			t.Fatal("the upgrade never reached the hung deployment")
		}
		e.clock.Advance(waited)
		cancel()
		<-done
		if rec := e.recs.wait(t, n); rec.Status != 499 {
			t.Fatalf("abandoned session recorded with status %d, want 499", rec.Status)
		}
	}

	abandon(time.Second, 1) // under the 3 s floor
	if f, _ := east(); f != 0 {
		t.Fatalf("a client leaving after 1 s made %d failures, want 0", f)
	}
	abandon(4*time.Second, 2) // past the floor
	f, lastErr := east()
	if f != 1 || !strings.Contains(lastErr, "the client gave up first") {
		t.Fatalf("after a client gave up at 4 s: failures %d, last error %q; want 1, the client gave up first", f, lastErr)
	}
}
