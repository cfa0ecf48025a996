package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/config"
)

// TestAccessReleasedWhenNothingWasSent: requests the gateway answers
// itself after admitting them (an unknown model, every deployment full)
// reached no upstream, so they do not use up the key's rpm or the
// attendee's daily cap.
func TestAccessReleasedWhenNothingWasSent(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, []config.Deployment{
		accessTestDeployment("only", "gpt-4o", config.ClassChat, 1, 1, 0),
		accessTestDeployment("free", "gpt-4o-mini", config.ClassChat, 1, 0, 0),
	})
	e.clock.Advance(20 * time.Second)
	for _, key := range []string{"sk-key-rpm", "sk-att-bob"} { // rpm 2; daily cap 3
		for i := range 3 {
			if resp := e.do(key, http.MethodPost, "/v1/chat/completions", `{"model":"no-such-model","messages":[]}`); resp.status != http.StatusNotFound {
				t.Fatalf("%s unknown model %d: status %d, want 404", key, i, resp.status)
			}
		}
	}
	if resp := e.chat("sk-key-open"); resp.status != http.StatusOK {
		t.Fatalf("filling the deployment's rpm: status %d, want 200; body %s", resp.status, resp.body)
	}
	for _, key := range []string{"sk-key-rpm", "sk-att-bob"} {
		for i := range 3 {
			if resp := e.chat(key); resp.status != http.StatusTooManyRequests {
				t.Fatalf("%s with the deployment full, %d: status %d, want 429", key, i, resp.status)
			}
		}
	}
	// Within the same minute, the key's rpm of 2 is still whole.
	for i := range 2 {
		if resp := e.do("sk-key-rpm", http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`); resp.status != http.StatusOK {
			t.Errorf("key rpm 2, request %d after six that reached no upstream: status %d, want 200; body %s", i+1, resp.status, resp.body)
		}
	}
	e.clock.Advance(time.Minute) // the deployment's window resets; the day does not
	if resp := e.chat("sk-att-bob"); resp.status != http.StatusOK {
		t.Errorf("daily cap 3 after six requests that reached no upstream: status %d, want 200; body %s", resp.status, resp.body)
	}
}
