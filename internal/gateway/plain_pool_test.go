//go:build !race

// The race detector drops a quarter of what goes into a sync.Pool, and
// this test counts the allocations a pooled state saves: it runs in the
// build without it.

package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSignObjectAllocatesNothing: signing an object id, once per
// Responses answer, allocates nothing beyond the id (the HMAC's input and
// sum escaped through the hash.Hash interface), and the id still decodes.
func TestSignObjectAllocatesNothing(t *testing.T) {
	g := plainTestGateway(t, benchResponsesResponse, "application/json")
	dst := make([]byte, 0, 256)
	var id []byte
	allocs := testing.AllocsPerRun(100, func() {
		id = g.appendObject(dst[:0], "a", "key-1", "resp_68af0000deadbeef0000000000000000")
	})
	ref, ok := g.decodeObject(string(id), "key-1")
	if !ok || ref.deployment != "a" || ref.upstream != "resp_68af0000deadbeef0000000000000000" {
		t.Errorf("decodeObject(%s) = %+v, %v; want deployment a, the upstream id", id, ref, ok)
	}
	if _, ok := g.decodeObject(string(id), "key-2"); ok {
		t.Error("another key's decodeObject accepted the id")
	}
	if allocs != 0 {
		t.Errorf("appendObject allocated %v times, want 0", allocs)
	}
}

// TestServePlainAllocs: a plain chat request, request and recorder
// included, allocates no more than it did once its attempt's idle timer
// came from a pool (idleTimers): a timer of its own was three
// allocations more.
func TestServePlainAllocs(t *testing.T) {
	g := plainTestGateway(t, benchChatResponse, "application/json")
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`
	serve := func() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	serve()
	if got, want := testing.AllocsPerRun(200, serve), 37.0; got > want {
		t.Errorf("a plain chat request allocated %v times, want at most %v", got, want)
	}
}
