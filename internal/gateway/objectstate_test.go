package gateway

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadObjectState(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       objectState
	}{
		{"a response", benchResponsesResponse, objectState{ID: "resp_68af0000deadbeef0000000000000000", Status: "completed"}},
		{"a response without background", `{"id":"resp_0","object":"response","status":"completed","model":"gpt-4o","output":[]}`, objectState{ID: "resp_0", Status: "completed"}},
		{"background, queued", `{"id":"resp_1","object":"response","status":"queued","background":true,"output":[]}`, objectState{ID: "resp_1", Status: "queued", Background: true}},
		{"no background member", `{"status":"in_progress","output":[{"id":"msg_1"}],"id":"resp_2"}`, objectState{ID: "resp_2", Status: "in_progress"}},
		{"escaped id", `{"id":"resp_\u0033","status":"completed","background":false}`, objectState{ID: "resp_3", Status: "completed"}},
		{"nested ids are not the object's", `{"output":[{"id":"msg_1","status":"completed"}],"id":"resp_4","background":false,"status":"failed"}`, objectState{ID: "resp_4", Status: "failed"}},
		// The rest is not read once the three are: a body cut short
		// after them reads as whole.
		{"cut after the state", `{"id":"resp_5","status":"completed","background":false,"output":[{"id":"msg_`, objectState{ID: "resp_5", Status: "completed"}},
		{"not an object", `[{"id":"x"}]`, objectState{}},
		{"empty", ``, objectState{}},
	} {
		if diff := cmp.Diff(tc.want, readObjectState([]byte(tc.body))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// BenchmarkReadObjectState reads the state of the bench's Responses
// answer (the mock's: id, status and background first, then the output).
func BenchmarkReadObjectState(b *testing.B) {
	body := []byte(`{"id":"resp_1feab4471d3ff630df0e7f226de95c94cd4751fb9e06ac1f","object":"response","created_at":1796545032,"status":"incomplete","background":false,"completed_at":null,"error":null,"incomplete_details":{"reason":"max_output_tokens"},"instructions":null,"max_output_tokens":16,"max_tool_calls":null,"model":"gpt-4o","output":[{"id":"msg_4f3db120ffdcd5e666f50d6bdf63b5f740582d31c1bf4c99","type":"message","status":"incomplete","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Spillway nulla cillum enim voluptate officia duis voluptate labore proident nulla amet magna sed ea in"}],"role":"assistant"}],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":false,"temperature":1,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1,"truncation":"disabled","usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":21},"user":null,"metadata":{}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if readObjectState(body).ID == "" {
			b.Fatal("no id")
		}
	}
}

// BenchmarkUsageFromTail finds the usage of the bench's chat answer.
func BenchmarkUsageFromTail(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-mock-1","object":"chat.completion","created":1796544189,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Nostrud id ut proident exercitation proident in irure consectetur aute dolore sint minim mollit minim dolore","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":8,"completion_tokens":16,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_mock"}`)
	b.ReportAllocs()
	for b.Loop() {
		if u, ok := usageFromTail(body); !ok || u.Total != 24 {
			b.Fatal(u, ok)
		}
	}
}

func TestLastIndex(t *testing.T) {
	for _, tc := range []struct{ b, pattern string }{
		{`{"usage":{"a":1}}`, `"usage":{`},
		{`"usage":{`, `"usage":{`},
		{`{"usage":{"x":{"usage":{}}}}`, `"usage":{`},
		{`{"usage":null}`, `"usage":{`},
		{``, `"usage":{`},
		{`"usage":`, `"usage":{`},
		{`aaaa`, `aa`},
	} {
		if got, want := lastIndex([]byte(tc.b), []byte(tc.pattern)), bytes.LastIndex([]byte(tc.b), []byte(tc.pattern)); got != want {
			t.Errorf("lastIndex(%q, %q) = %d, want %d", tc.b, tc.pattern, got, want)
		}
	}
}
