//go:build !race

// The race detector drops a quarter of what goes into a sync.Pool, and
// this test counts the allocations a pooled state saves: it runs in the
// build without it.

package gateway

import "testing"

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
