package mock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
)

// rtDial opens a Realtime session on the mock.
func rtDial(t *testing.T, ts *httptest.Server, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	c, resp, err := websocket.Dial(ctx, ts.URL+path, &websocket.DialOptions{Subprotocols: []string{"realtime"}})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// rtEv is what the tests read of an event.
type rtEv struct {
	Type    string `json:"type"`
	EventID string `json:"event_id"`
	Error   struct {
		Code    string `json:"code"`
		Param   any    `json:"param"`
		EventID any    `json:"event_id"`
	} `json:"error"`
	Response struct {
		Status string          `json:"status"`
		Usage  json.RawMessage `json:"usage"`
	} `json:"response"`
	raw string
}

func rtRead(t *testing.T, c *websocket.Conn) rtEv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var ev rtEv
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
	ev.raw = string(b)
	return ev
}

func rtSend(t *testing.T, c *websocket.Conn, ev string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(ev)); err != nil {
		t.Fatal(err)
	}
}

// rtTypes reads events until a response.done or an error, and returns
// their types in order.
func rtTypes(t *testing.T, c *websocket.Conn, upTo string) ([]string, rtEv) {
	t.Helper()
	var types []string
	for {
		ev := rtRead(t, c)
		types = append(types, ev.Type)
		if ev.Type == upTo {
			return types, ev
		}
	}
}

// TestRealtimeTextResponse: the GA event sequence of a text turn, and its
// usage.
func TestRealtimeTextResponse(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "rt"})
	c := rtDial(t, ts, "/v1/realtime?model=gpt-realtime")
	if ev := rtRead(t, c); ev.Type != "session.created" || !strings.HasPrefix(ev.EventID, "event_") {
		t.Fatalf("first event %s, want session.created with an event_id", ev.raw)
	}
	rtSend(t, c, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"Hello there!"}]}}`)
	types, _ := rtTypes(t, c, "conversation.item.done")
	if diff := cmp.Diff([]string{"conversation.item.added", "conversation.item.done"}, types); diff != "" {
		t.Errorf("item events (-want +got):\n%s", diff)
	}
	rtSend(t, c, `{"type":"response.create","response":{"output_modalities":["text"],"max_output_tokens":5}}`)
	types, done := rtTypes(t, c, "response.done")
	want := []string{"response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added"}
	for range 5 {
		want = append(want, "response.output_text.delta")
	}
	want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done", "conversation.item.done", "response.done")
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("response events (-want +got):\n%s", diff)
	}
	if done.Response.Status != "incomplete" {
		t.Errorf("status %q, want incomplete (max_output_tokens 5)", done.Response.Status)
	}
	wantUsage := `{"input_token_details":{"audio_tokens":0,"cached_tokens":0,"cached_tokens_details":{"audio_tokens":0,"image_tokens":0,"text_tokens":0},"image_tokens":0,"text_tokens":3},"input_tokens":3,"output_token_details":{"audio_tokens":0,"text_tokens":5},"output_tokens":5,"total_tokens":8}`
	if got := string(done.Response.Usage); got != wantUsage {
		t.Errorf("usage\n got %s\nwant %s", got, wantUsage)
	}
	// The next response reads the conversation again: cached.
	rtSend(t, c, `{"type":"response.create","response":{"output_modalities":["text"]}}`)
	_, done = rtTypes(t, c, "response.done")
	var u struct {
		InputTokens  int `json:"input_tokens"`
		InputDetails struct {
			Cached int `json:"cached_tokens"`
		} `json:"input_token_details"`
	}
	_ = json.Unmarshal(done.Response.Usage, &u)
	if u.InputTokens != 8 || u.InputDetails.Cached != 3 {
		t.Errorf("second usage %s, want 8 input tokens, 3 cached", done.Response.Usage)
	}
}

// TestRealtimeItems: items can be retrieved, truncated and deleted.
func TestRealtimeItems(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "rt"})
	c := rtDial(t, ts, "/v1/realtime?model=gpt-realtime")
	rtRead(t, c)
	rtSend(t, c, `{"type":"conversation.item.create","item":{"id":"item_a","type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]}}`)
	rtTypes(t, c, "conversation.item.done")
	for _, step := range []struct{ event, want string }{
		{`{"type":"conversation.item.retrieve","item_id":"item_a"}`, "conversation.item.retrieved"},
		{`{"type":"conversation.item.truncate","item_id":"item_a","content_index":0,"audio_end_ms":0}`, "conversation.item.truncated"},
		{`{"type":"conversation.item.delete","item_id":"item_a"}`, "conversation.item.deleted"},
		{`{"type":"conversation.item.retrieve","item_id":"item_a"}`, "error"},
	} {
		rtSend(t, c, step.event)
		if ev := rtRead(t, c); ev.Type != step.want {
			t.Errorf("%s: got %s, want %s", step.event, ev.raw, step.want)
		}
	}
}

// TestRealtimeAudio: appended and committed audio is a user item and
// input audio tokens; an audio response sends audio and transcript
// deltas and counts output audio tokens.
func TestRealtimeAudio(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "rt"})
	c := rtDial(t, ts, "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime")
	rtRead(t, c)
	second := base64.StdEncoding.EncodeToString(make([]byte, 48000)) // 1 s of 24 kHz PCM16
	rtSend(t, c, `{"type":"input_audio_buffer.append","audio":"`+second+`"}`)
	rtSend(t, c, `{"type":"input_audio_buffer.commit"}`)
	types, _ := rtTypes(t, c, "conversation.item.done")
	if diff := cmp.Diff([]string{"input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"}, types); diff != "" {
		t.Errorf("commit events (-want +got):\n%s", diff)
	}
	rtSend(t, c, `{"type":"response.create","response":{"max_output_tokens":4}}`)
	types, done := rtTypes(t, c, "response.done")
	count := map[string]int{}
	for _, typ := range types {
		count[typ]++
	}
	if count["response.output_audio.delta"] != 4 || count["response.output_audio_transcript.delta"] != 4 || count["response.output_audio.done"] != 1 || count["response.output_audio_transcript.done"] != 1 {
		t.Errorf("audio response events %v, want 4 audio and 4 transcript deltas and their .done", count)
	}
	var u struct {
		Input struct {
			Audio int `json:"audio_tokens"`
		} `json:"input_token_details"`
		Output struct {
			Audio int `json:"audio_tokens"`
			Text  int `json:"text_tokens"`
		} `json:"output_token_details"`
		Total int `json:"total_tokens"`
	}
	_ = json.Unmarshal(done.Response.Usage, &u)
	if u.Input.Audio != 10 || u.Output.Audio != 8 || u.Output.Text != 4 || u.Total != 10+12 {
		t.Errorf("usage %s, want 10 input audio tokens, 8 output audio, 4 text, 22 in all", done.Response.Usage)
	}
}

// TestRealtimeErrors: bad client events get error events naming the
// problem, and the session goes on.
func TestRealtimeErrors(t *testing.T) {
	tests := []struct {
		event, code string
		param       any
	}{
		{`not json`, "invalid_json", nil},
		{`{"event_id":"e1"}`, "missing_required_parameter", "type"},
		{`{"type":"conversation.create"}`, "invalid_value", "type"},
		{`{"type":"conversation.item.create"}`, "missing_required_parameter", "item"},
		{`{"type":"conversation.item.create","item":{"type":"picture"}}`, "invalid_value", "item.type"},
		{`{"type":"input_audio_buffer.append","audio":"%%%"}`, "invalid_value", "audio"},
		{`{"type":"input_audio_buffer.commit"}`, "input_audio_buffer_commit_empty", nil},
		{`{"type":"response.cancel"}`, "response_cancel_not_active", nil},
		{`{"type":"session.update"}`, "missing_required_parameter", "session"},
		{`{"type":"session.update","session":{"type":"transcription"}}`, "invalid_value", "session.type"},
		{`{"type":"conversation.item.delete","item_id":"item_nope"}`, "item_not_found", "item_id"},
	}
	_, ts := newTestServer(t, Options{Name: "rt"})
	c := rtDial(t, ts, "/v1/realtime?model=gpt-realtime")
	rtRead(t, c)
	for _, tt := range tests {
		rtSend(t, c, tt.event)
		ev := rtRead(t, c)
		if ev.Type != "error" || ev.Error.Code != tt.code || ev.Error.Param != tt.param {
			t.Errorf("%s: got %s, want error %s param %v", tt.event, ev.raw, tt.code, tt.param)
		}
	}
	rtSend(t, c, `{"type":"session.update","session":{"type":"realtime","instructions":"Hi"}}`)
	if ev := rtRead(t, c); ev.Type != "session.updated" {
		t.Errorf("after the errors: %s, want session.updated: the session goes on", ev.raw)
	}
}

// TestRealtimeHandshake: what the upgrade itself answers.
func TestRealtimeHandshake(t *testing.T) {
	tests := []struct {
		name, path string
		header     []string
		status     int
		code       string
	}{
		{"no model", "/v1/realtime", []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 400, "missing_required_parameter"},
		{"azure without deployment", "/openai/realtime?api-version=2025-04-01-preview&model=x", []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 400, "missing_required_parameter"},
		{"azure without api-version", "/openai/realtime?deployment=x", []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 400, "MissingApiVersionParameter"},
		{"not an upgrade", "/v1/realtime?model=x", nil, 400, "websocket_required"},
		{"wrong key", "/v1/realtime?model=x", []string{"Api-Key", "nope"}, 401, "401"},
	}
	_, ts := newTestServer(t, Options{Name: "rt", RequireKey: "good"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code != "401" {
				tt.header = append(tt.header, "Api-Key", "good")
			}
			resp, body := fetch(t, ts, http.MethodGet, tt.path, "", tt.header...)
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != tt.status || e.Error.Code != tt.code {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

// TestRealtimeFaults: a status fault refuses the upgrade as a throttled
// upstream does; a reset fault drops the connection without a close
// frame; Close ends a live session.
func TestRealtimeFaults(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		_, ts := newTestServer(t, Options{Name: "rt", Faults: []Fault{{Kind: FaultStatus, Status: 429, RetryAfter: 7 * time.Second}}})
		_, resp, err := websocket.Dial(context.Background(), ts.URL+"/v1/realtime?model=x", nil)
		if err == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
			t.Errorf("dial: %v %v, want 429 with Retry-After 7", err, resp)
		}
	})
	t.Run("reset", func(t *testing.T) {
		_, ts := newTestServer(t, Options{Name: "rt", Faults: []Fault{{Kind: FaultResetMidStream, After: 3}}})
		c := rtDial(t, ts, "/v1/realtime?model=x")
		rtRead(t, c)
		rtSend(t, c, `{"type":"response.create"}`)
		rtRead(t, c)
		rtRead(t, c)
		_, _, err := c.Read(context.Background())
		if got := websocket.CloseStatus(err); got != -1 {
			t.Errorf("after 3 events: close status %v (%v), want a dropped connection", got, err)
		}
	})
	t.Run("close", func(t *testing.T) {
		m, ts := newTestServer(t, Options{Name: "rt"})
		c := rtDial(t, ts, "/v1/realtime?model=x")
		rtRead(t, c)
		m.Close()
		if _, _, err := c.Read(context.Background()); err == nil {
			t.Error("session still open after Close")
		}
	})
}

// TestRealtimeOpenAISDK: the official client connects to the mock and
// decodes its events into its own types.
func TestRealtimeOpenAISDK(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "rt"})
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey("sk-any"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	conn, err := client.Realtime.Connect(ctx, realtime.RealtimeConnectionOptions{}, option.WithQuery("model", "gpt-realtime"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Abort()
	ev, err := conn.Recv(ctx)
	if err != nil || ev.Type != "session.created" {
		t.Fatalf("first event %v %v", ev.Type, err)
	}
	if got := ev.AsSessionCreatedEvent().Session.AsRealtimeSessionCreateRequest().Model; got != "gpt-realtime" {
		t.Errorf("session model %q, want gpt-realtime", got)
	}
	if err := conn.Send(ctx, realtime.RealtimeClientEventUnionParam{OfResponseCreate: &realtime.ResponseCreateEventParam{}}); err != nil {
		t.Fatal(err)
	}
	var deltas int
	for {
		ev, err := conn.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case "response.output_audio.delta":
			if ev.AsResponseAudioDeltaEvent().Delta == "" {
				t.Error("empty audio delta")
			}
			deltas++
		case "response.done":
			u := ev.AsResponseDoneEvent().Response.Usage
			if deltas != DefaultAnswerTokens || u.OutputTokenDetails.AudioTokens != 2*DefaultAnswerTokens || u.TotalTokens != u.InputTokens+u.OutputTokens {
				t.Errorf("%d audio deltas, usage %+v; want %d deltas and consistent usage", deltas, u, DefaultAnswerTokens)
			}
			return
		}
	}
}
