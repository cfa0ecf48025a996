//go:build !race

// The race detector drops a quarter of what goes into a sync.Pool (the
// signing state's): these counts hold in the build without it.

package gateway

import (
	"bytes"
	"testing"
)

// TestRewriteAllocs pins what rewriting costs: the rewriter, and one
// allocation per pair of ids (the new response's, signed, and each the
// request names); an answer in the attempt's buffer none, a streamed
// event only where an id is replaced, and the new id's text once.
func TestRewriteAllocs(t *testing.T) {
	g := benchGateway(t, "", "application/json")
	answers := mockAnswers(t,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16}`,
		`{"model":"gpt-4o","input":"and then?","max_output_tokens":16,"previous_response_id":"{{previous}}"}`,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)
	prevID := readObjectState(answers[0]).ID
	prev := objectRef{id: g.encodeObject("a", "key-1", prevID), deployment: "a", upstream: prevID}
	for i, tc := range []struct {
		prev objectRef
		want float64
	}{{objectRef{}, 2}, {prev, 3}} {
		buf := make([]byte, 32<<10)
		held := buf[:copy(buf, answers[i])]
		id := readObjectState(held).ID
		got := testing.AllocsPerRun(100, func() { rewriterFor(g, tc.prev).body(held, id) })
		if got != tc.want {
			t.Errorf("answer %d: %v allocations, want %v", i, got, tc.want)
		}
	}
	evs := sseEvents(answers[2])
	with := 0 // events that hold the new id
	id := eventResponseID(evs[0])
	for _, ev := range evs {
		if bytes.Contains(ev, []byte(id)) {
			with++
		}
	}
	got := testing.AllocsPerRun(100, func() {
		rw := rewriterFor(g, objectRef{})
		for _, ev := range evs {
			rw.event(ev)
		}
	})
	if want := float64(3 + with); got != want {
		t.Errorf("a stream of %d events, %d with the id: %v allocations, want %v", len(evs), with, got, want)
	}
}
