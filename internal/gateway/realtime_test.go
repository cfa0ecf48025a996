package gateway

import (
	"testing"
)

func TestRealtimeSmoke(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	c, resp := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	t.Logf("deployment %s", resp.Header.Get("X-Spillway-Deployment"))
	ev := next(t, c)
	t.Logf("%s", ev.raw)
	done := ask(t, c, "hello there")
	t.Logf("%s", done.raw)
	c.Close(1000, "")
	rec := e.recs.wait(t, 2)
	t.Logf("%+v", e.recs.all())
	_ = rec
}
