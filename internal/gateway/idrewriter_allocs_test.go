//go:build !race

// The race detector drops a quarter of what goes into a sync.Pool (the
// signing state's): these counts hold in the build without it.

package gateway

import "testing"

// TestRewriteAllocs pins what rewriting costs: the rewriter, and one
// allocation per pair of ids (the new response's, signed, and each the
// request names); an answer in the attempt's buffer none.
func TestRewriteAllocs(t *testing.T) {
	g := benchGateway(t, "", "application/json")
	answers := mockAnswers(t,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16}`,
		`{"model":"gpt-4o","input":"and then?","max_output_tokens":16,"previous_response_id":"{{previous}}"}`)
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
}
