package gateway

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/usage"
)

// records collects usage records in memory; the gateway's contract with
// its recorder is just this call.
type records struct {
	mu   sync.Mutex
	list []usage.Record
	got  chan struct{}
}

func newRecords() *records { return &records{got: make(chan struct{}, 100)} }

func (r *records) Record(rec usage.Record) {
	r.mu.Lock()
	r.list = append(r.list, rec)
	r.mu.Unlock()
	r.got <- struct{}{}
}

// wait returns the n-th record once it exists (the handler records after
// the response, so the client may finish first).
func (r *records) wait(t *testing.T, n int) usage.Record {
	t.Helper()
	for {
		r.mu.Lock()
		if len(r.list) >= n {
			rec := r.list[n-1]
			r.mu.Unlock()
			return rec
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-time.After(10 * time.Second): // liveness bound
			t.Fatalf("no usage record %d", n)
		}
	}
}

// sseUpstream streams n content chunks, then the usage event if the
// request asked for it, then [DONE]; it saves the request body it got.
func sseUpstream(n int, withUsage bool, gotBody *[]byte, mu *sync.Mutex) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		*gotBody = b
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range n {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word%d \"}}],\"usage\":null}\n\n", i)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
		if withUsage && bytes.Contains(b, []byte(`"include_usage":true`)) {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", n, 11+n)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func withRecorder(h *harness, rec Recorder) {
	h.gw.recorder = rec
}

func TestUsageNonStreaming(t *testing.T) {
	recs := newRecords()
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: okChat("a")})
	withRecorder(h, recs)
	if code, _, _ := h.chat(); code != 200 {
		t.Fatalf("status %d", code)
	}
	got := recs.wait(t, 1)
	if got.PromptTokens != 3 || got.CompletionTokens != 3 || got.TotalTokens != 6 || got.Estimated {
		t.Errorf("tokens %d/%d/%d estimated %v, want 3/3/6 from the upstream", got.PromptTokens, got.CompletionTokens, got.TotalTokens, got.Estimated)
	}
	if got.Deployment != "a" || got.Status != 200 || got.Attempts != 1 || got.Model != "gpt-4o" || got.Endpoint != "chat" || got.KeyID != "static:test" {
		t.Errorf("record = %+v, want deployment a, 200, 1 attempt, gpt-4o, chat, static:test", got)
	}
	if got.Cost <= 0 {
		t.Errorf("cost = %v, want the gpt-4o price applied", got.Cost)
	}
	if !strings.HasPrefix(got.RequestID, "req_") || got.Latency <= 0 || got.TTFB <= 0 {
		t.Errorf("request id %q latency %v ttfb %v, want all set", got.RequestID, got.Latency, got.TTFB)
	}
}

// TestUsageStreamClientDidNotAsk: the gateway asks the upstream for stream
// usage, records it, and keeps the usage event from the client, which sees
// exactly the stream it would have seen without the gateway.
func TestUsageStreamClientDidNotAsk(t *testing.T) {
	var mu sync.Mutex
	var upBody []byte
	recs := newRecords()
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: sseUpstream(5, true, &upBody, &mu)})
	withRecorder(h, recs)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	mu.Lock()
	sent := string(upBody)
	mu.Unlock()
	if !strings.Contains(sent, `"stream_options":{"include_usage":true}`) {
		t.Errorf("upstream got %s, want stream_options.include_usage added", sent)
	}
	if strings.Contains(body, `"choices":[]`) || strings.Contains(body, `"prompt_tokens"`) {
		t.Errorf("client stream carries the usage event it did not ask for:\n%s", body)
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") || strings.Count(body, "data: ") != 7 {
		t.Errorf("client stream = %q, want 5 content events, the finish event and [DONE]", body)
	}
	got := recs.wait(t, 1)
	if got.PromptTokens != 11 || got.CompletionTokens != 5 || got.Estimated || !got.Stream {
		t.Errorf("record tokens %d/%d estimated %v stream %v, want 11/5 from the usage event", got.PromptTokens, got.CompletionTokens, got.Estimated, got.Stream)
	}
}

func TestUsageStreamClientAsked(t *testing.T) {
	var mu sync.Mutex
	var upBody []byte
	recs := newRecords()
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: sseUpstream(3, true, &upBody, &mu)})
	withRecorder(h, recs)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if !strings.Contains(body, `"prompt_tokens":11`) {
		t.Errorf("client asked for usage but the stream lacks it:\n%s", body)
	}
	mu.Lock()
	if bytes.Count(upBody, []byte("stream_options")) != 1 {
		t.Errorf("upstream body %s, want the client's stream_options unchanged", upBody)
	}
	mu.Unlock()
	if got := recs.wait(t, 1); got.CompletionTokens != 3 || got.Estimated {
		t.Errorf("record = %+v, want 3 completion tokens, not estimated", got)
	}
}

func TestUsageEstimatedWhenUpstreamReportsNone(t *testing.T) {
	var mu sync.Mutex
	var upBody []byte
	recs := newRecords()
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: sseUpstream(4, false, &upBody, &mu)})
	withRecorder(h, recs)
	resp := h.post("/v1/chat/completions", streamBody)
	_ = readAll(t, resp.Body)
	resp.Body.Close()
	got := recs.wait(t, 1)
	if !got.Estimated || got.PromptTokens == 0 || got.CompletionTokens == 0 || got.TotalTokens != got.PromptTokens+got.CompletionTokens {
		t.Errorf("record = %+v, want estimated non-zero prompt and completion tokens", got)
	}
}

func TestUsageCountedOnceAfterFailover(t *testing.T) {
	recs := newRecords()
	h := newHarness(t, harnessOptions{},
		&backend{id: "bad", priority: 1, handler: status(500, `{"error":{"message":"x","type":"server_error","param":null,"code":null},"usage":{"prompt_tokens":999,"completion_tokens":999,"total_tokens":1998}}`)},
		&backend{id: "good", priority: 2, handler: okChat("good")},
	)
	withRecorder(h, recs)
	h.chat()
	got := recs.wait(t, 1)
	if got.Deployment != "good" || got.Attempts != 2 || got.TotalTokens != 6 {
		t.Errorf("record = %+v, want the good deployment's 6 tokens after 2 attempts", got)
	}
	recs.mu.Lock()
	n := len(recs.list)
	recs.mu.Unlock()
	if n != 1 {
		t.Errorf("%d records for one request, want 1", n)
	}
}

func TestUsageRecordedWhenClientLeavesMidStream(t *testing.T) {
	recs := newRecords()
	release := make(chan struct{})
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"partial answer here\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}})
	defer close(release)
	withRecorder(h, recs)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	got := recs.wait(t, 1)
	if got.Status != statusClientClosed || got.Deployment != "a" || got.CompletionTokens == 0 || !got.Estimated {
		t.Errorf("record = %+v, want status 499 from a with the streamed tokens estimated", got)
	}
}

func TestUsageRecordedForRejectedRequests(t *testing.T) {
	recs := newRecords()
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: okChat("a")})
	withRecorder(h, recs)
	resp := h.post("/v1/chat/completions", `{"model":"nope"}`)
	resp.Body.Close()
	if got := recs.wait(t, 1); got.Status != 404 || got.Model != "nope" || got.TotalTokens != 0 {
		t.Errorf("record = %+v, want a 404 for model nope with no tokens", got)
	}
}

func TestMeterEvents(t *testing.T) {
	const usageEv = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1,\"total_tokens\":3}}\n\n"
	const azureFilterEv = "data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0}]}\n\n"
	tests := []struct {
		name      string
		chunks    []string
		strip     bool
		want      string
		wantUsage tokens
		wantText  string
	}{
		{"split across reads", []string{"data: {\"choices\":[{\"delta\":{\"content\":\"Hel", "lo\"}}]}\n", "\n" + usageEv + "data: [DONE]\n\n"}, true,
			"data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\ndata: [DONE]\n\n", tokens{Prompt: 2, Completion: 1, Total: 3}, "Hello"},
		{"kept when the client asked", []string{usageEv, "data: [DONE]\n\n"}, false, usageEv + "data: [DONE]\n\n", tokens{Prompt: 2, Completion: 1, Total: 3}, ""},
		{"azure filter event is not usage", []string{azureFilterEv, "data: [DONE]\n\n"}, true, azureFilterEv + "data: [DONE]\n\n", tokens{}, ""},
		{"crlf events", []string{"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\n", "data: [DONE]\r\n\r\n"}, true,
			"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n", tokens{}, "x"},
		{"unterminated last event", []string{"data: [DONE]"}, true, "data: [DONE]", tokens{}, ""},
		{"escaped content", []string{"data: {\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\n\"}}]}\n\n"}, true, "data: {\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\n\"}}]}\n\n", tokens{}, "a\"b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &meter{stream: true, strip: tt.strip}
			var out bytes.Buffer
			for _, c := range tt.chunks {
				if _, err := m.write(&out, []byte(c)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.finish(&out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("client got %q, want %q", out.String(), tt.want)
			}
			if m.usage != tt.wantUsage || string(m.text) != tt.wantText {
				t.Errorf("usage %+v text %q, want %+v %q", m.usage, m.text, tt.wantUsage, tt.wantText)
			}
		})
	}
}

func TestMeterJSONTail(t *testing.T) {
	big := `{"object":"list","data":[{"embedding":[` + strings.Repeat("0.1,", 5000) + `0.1]}],"model":"m","usage":{"prompt_tokens":8,"total_tokens":8}}`
	m := &meter{}
	var out bytes.Buffer
	for i := 0; i < len(big); i += 1000 {
		if _, err := m.write(&out, []byte(big[i:min(i+1000, len(big))])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.finish(&out); err != nil {
		t.Fatal(err)
	}
	if out.String() != big {
		t.Errorf("the body was changed on its way through")
	}
	if !m.found || m.usage != (tokens{Prompt: 8, Total: 8}) {
		t.Errorf("usage = %+v found %v, want 8/0/8", m.usage, m.found)
	}
}

func TestPayloadLogging(t *testing.T) {
	var mu sync.Mutex
	var upBody []byte
	tests := []struct {
		name   string
		global bool
		perKey bool
		want   bool
	}{
		{"off by default", false, false, false},
		{"global", true, false, true},
		{"per key", false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := newRecords()
			h := newHarness(t, harnessOptions{},
				&backend{id: "a", handler: okChat("a")},
				&backend{id: "s", model: "streamer", handler: sseUpstream(2, true, &upBody, &mu)})
			withRecorder(h, recs)
			h.gw.payloads = tt.global
			h.gw.auth = auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "test", LogPayloads: tt.perKey}})
			h.chat()
			resp := h.post("/v1/chat/completions", `{"model":"streamer","stream":true,"messages":[{"role":"user","content":"stream please"}]}`)
			_ = readAll(t, resp.Body)
			resp.Body.Close()
			chat, stream := recs.wait(t, 1), recs.wait(t, 2)
			if !tt.want {
				if chat.Prompt != "" || chat.Response != "" || stream.Prompt != "" || stream.Response != "" {
					t.Errorf("payloads stored with logging off: %+v", chat)
				}
				return
			}
			if !strings.Contains(chat.Prompt, `"content":"hi"`) || !strings.Contains(chat.Response, "hello from a") {
				t.Errorf("chat payload = %q / %q, want the request body and the answer", chat.Prompt, chat.Response)
			}
			if !strings.Contains(stream.Prompt, "stream please") || stream.Response != "word0 word1 " {
				t.Errorf("stream payload = %q / %q, want the body and the streamed text", stream.Prompt, stream.Response)
			}
			for _, r := range []usage.Record{chat, stream} {
				if strings.Contains(r.Prompt+r.Response, testKey) || strings.Contains(r.Prompt+r.Response, "upstream-secret") {
					t.Errorf("a payload contains a credential: %+v", r)
				}
			}
		})
	}
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		in     string
		want   tokens
		wantOK bool
	}{
		{`{"prompt_tokens":9,"completion_tokens":32,"total_tokens":41,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":5}}`, tokens{Prompt: 9, Completion: 32, Total: 41, Reasoning: 5}, true},
		{`{ "prompt_tokens": 8, "total_tokens": 8 }`, tokens{Prompt: 8, Total: 8}, true},
		{`{"completion_tokens":3,"prompt_tokens":2}`, tokens{Prompt: 2, Completion: 3, Total: 5}, true},
		{`{"input_tokens":36,"input_tokens_details":{"cached_tokens":16},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":123}`, tokens{Prompt: 36, Completion: 87, Total: 123, Cached: 16, Reasoning: 64}, true},
		{`{"type":"tokens","input_tokens":14,"input_token_details":{"text_tokens":0,"audio_tokens":14},"output_tokens":45}`, tokens{Prompt: 14, Completion: 45, Total: 59}, true},
		{`{"type":"duration","seconds":9}`, tokens{Seconds: 9}, true},
		{`{"type":"duration","seconds":12.5}`, tokens{Seconds: 12.5}, true},
		{`{"type":"duration","seconds":"9"}`, tokens{}, false},
		{`{"total_tokens":3}`, tokens{}, false},
		{`{"prompt_tokens":9`, tokens{}, false},
		{`null`, tokens{}, false},
		{``, tokens{}, false},
	}
	for _, tt := range tests {
		got, ok := parseUsage([]byte(tt.in))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseUsage(%s) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestMeterBoundsStreamText: a long stream keeps at most maxStreamText of
// its completion text (the only memory of a held stream that grows with
// its length) and estimates the rest at four bytes to a token; a logged
// one keeps it all.
func TestMeterBoundsStreamText(t *testing.T) {
	var all strings.Builder
	var events [][]byte
	words := strings.Fields("a model streams its answer a token or two to an event and the gateway keeps what it needs to count them when the upstream says nothing")
	for i := range 4000 {
		word := " " + words[i%len(words)]
		all.WriteString(word)
		events = append(events, fmt.Appendf(nil, "data: {\"choices\":[{\"delta\":{\"content\":%q}}]}\n\n", word))
	}
	exact := usage.CountTokens("gpt-4o", all.String())
	for _, tc := range []struct {
		name    string
		logged  bool
		maxKept int
	}{
		{"not logged", false, 16 << 10},
		{"logged", true, 2 * all.Len()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &meter{stream: true, keepBody: tc.logged}
			for _, ev := range events {
				if _, err := m.write(io.Discard, ev); err != nil {
					t.Fatal(err)
				}
			}
			if cap(m.text) > tc.maxKept {
				t.Errorf("the meter holds %d bytes for a completion of %d, want at most %d", cap(m.text), all.Len(), tc.maxKept)
			}
			if tc.logged && string(m.text) != all.String() {
				t.Errorf("a logged stream kept %d bytes of its %d", len(m.text), all.Len())
			}
			if got := m.completionTokens("gpt-4o"); got < exact*8/10 || got > exact*12/10 {
				t.Errorf("completion estimate %d, the tokenizer counts %d: want within 20%%", got, exact)
			}
		})
	}
}
