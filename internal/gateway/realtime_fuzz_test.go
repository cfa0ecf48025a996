package gateway

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/usage"
)

// FuzzRealtimeProtocols: whatever a client offers, its key never goes on
// upstream among the subprotocols, and no empty protocol is offered.
func FuzzRealtimeProtocols(f *testing.F) {
	f.Add("realtime, openai-insecure-api-key.sk-abc, openai-beta.realtime-v1")
	f.Add("openai-insecure-api-key.")
	f.Add(",,realtime,")
	f.Fuzz(func(t *testing.T, header string) {
		key, rest := realtimeProtocols(http.Header{"Sec-Websocket-Protocol": {header}})
		if slices.ContainsFunc(rest, func(p string) bool { return p == "" || strings.HasPrefix(p, insecureKeyProtocol) }) {
			t.Errorf("upstream protocols %q of %q hold a key or an empty protocol", rest, header)
		}
		if key != "" && !strings.Contains(header, insecureKeyProtocol+key) {
			t.Errorf("key %q is not in %q", key, header)
		}
	})
}

// FuzzRealtimeUsage: any message either is a response.done with
// non-negative counts, priced at a finite, non-negative cost, or charges
// nothing.
func FuzzRealtimeUsage(f *testing.F) {
	f.Add([]byte(`{"type":"response.done","response":{"usage":{"total_tokens":35,"input_tokens":3,"output_tokens":32,"input_token_details":{"cached_tokens":1,"audio_tokens":2,"cached_tokens_details":{"audio_tokens":1}},"output_token_details":{"audio_tokens":20}}}}`))
	f.Add([]byte(`{"type":"response.done","response":{"usage":{"input_tokens":-5,"output_tokens":-1}}}`))
	f.Add([]byte(`{"type":"response.output_text.delta","delta":"response.done"}`))
	price, _ := usage.Lookup("gpt-realtime")
	f.Fuzz(func(t *testing.T, msg []byte) {
		u := responseDoneUsage(msg)
		if u == nil {
			return
		}
		if u.InputTokens < 0 || u.OutputTokens < 0 || u.TotalTokens < 0 || u.InputTokenDetails.CachedTokens < 0 {
			t.Errorf("negative counts in %+v", u)
		}
		if c := realtimeCost(price, u); c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			t.Errorf("cost %v of %+v", c, u)
		}
	})
}

func TestRealtimeCost(t *testing.T) {
	p := usage.Price{InputCostPerToken: 1, OutputCostPerToken: 10, CachedInputCostPerToken: 0.1, AudioInputCostPerToken: 100, AudioOutputCostPerToken: 1000}
	tests := []struct {
		name string
		msg  string
		want float64
	}{
		{"text", `{"input_tokens":3,"output_tokens":2}`, 3 + 20},
		{"cached text", `{"input_tokens":10,"output_tokens":0,"input_token_details":{"cached_tokens":4}}`, 6 + 0.4},
		{"audio in and out", `{"input_tokens":5,"output_tokens":4,"input_token_details":{"audio_tokens":3},"output_token_details":{"audio_tokens":3}}`, 2 + 300 + 10 + 3000},
		{"cached audio", `{"input_tokens":5,"output_tokens":0,"input_token_details":{"audio_tokens":3,"cached_tokens":3,"cached_tokens_details":{"audio_tokens":3}}}`, 2 + 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := responseDoneUsage([]byte(`{"type":"response.done","response":{"usage":` + tt.msg + `}}`))
			if got := realtimeCost(p, u); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("cost = %v, want %v", got, tt.want)
			}
		})
	}
}
