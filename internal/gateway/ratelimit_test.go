package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
)

// rateHeaders returns the x-ratelimit-* headers of h.
func rateHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range upstreamRateHeaders {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

// TestRateLimitHeaders: a key with limits sees them on every answer,
// success and 429, in OpenAI's headers, instead of the deployment's; a key
// without limits gets the upstream's as they are.
func TestRateLimitHeaders(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	e.clock.Advance(20 * time.Second) // 40s to the minute's end
	want := func(remainingRequests, remainingTokens string) map[string]string {
		return map[string]string{
			"X-Ratelimit-Limit-Requests":     "2",
			"X-Ratelimit-Remaining-Requests": remainingRequests,
			"X-Ratelimit-Reset-Requests":     "40s",
			"X-Ratelimit-Limit-Tokens":       "1000",
			"X-Ratelimit-Remaining-Tokens":   remainingTokens,
			"X-Ratelimit-Reset-Tokens":       "40s",
		}
	}
	// The chat body is 63 bytes: 16 tokens by the admission estimate,
	// corrected to the 6 the upstream reports once the answer is in.
	steps := []struct {
		status int
		want   map[string]string
	}{
		{http.StatusOK, want("1", "984")},              // 16 taken
		{http.StatusOK, want("0", "978")},              // 6 + 16
		{http.StatusTooManyRequests, want("0", "988")}, // 6 + 6, nothing taken
	}
	for i, s := range steps {
		resp := e.chat("sk-key-limits")
		if resp.status != s.status {
			t.Fatalf("request %d: status = %d, want %d; body %s", i+1, resp.status, s.status, resp.body)
		}
		if diff := cmp.Diff(s.want, rateHeaders(resp.header)); diff != "" {
			t.Errorf("request %d: headers (-want +got):\n%s", i+1, diff)
		}
	}
	resp := e.chat("sk-key-open")
	if diff := cmp.Diff(map[string]string{"X-Ratelimit-Remaining-Requests": "999"}, rateHeaders(resp.header)); diff != "" {
		t.Errorf("key without limits: headers (-want +got):\n%s", diff)
	}
}
