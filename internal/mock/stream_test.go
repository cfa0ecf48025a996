package mock

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// streamSummary is what a stream's events add up to.
type streamSummary struct {
	RoleFirst     bool   // the first event carries delta.role "assistant"
	ContentChunks int    // events with non-empty content or text
	Content       string // all content, concatenated
	Finish        string // finish_reason of the finishing event
	FinishLast    bool   // no content after the finish_reason
	UsageChunk    *usage // the usage of a "choices":[] event, if any
	Done          bool   // the stream ended with [DONE]
	IDs           int    // distinct ids across events
}

func summarize(t *testing.T, events []string, chat bool) streamSummary {
	t.Helper()
	var s streamSummary
	ids := map[string]bool{}
	for i, ev := range events {
		if ev == "[DONE]" {
			if i != len(events)-1 {
				t.Errorf("[DONE] is event %d of %d, want it last", i, len(events))
			}
			s.Done = true
			continue
		}
		c := decode[chunk](t, []byte(ev))
		ids[c.ID] = true
		wantObject := "text_completion"
		if chat {
			wantObject = "chat.completion.chunk"
		}
		if c.Object != wantObject {
			t.Errorf("event %d: object %q, want %q", i, c.Object, wantObject)
		}
		if len(c.Choices) == 0 {
			if c.Usage == nil {
				t.Errorf("event %d has neither choices nor usage: %s", i, ev)
			}
			s.UsageChunk = c.Usage
			continue
		}
		if c.Usage != nil {
			t.Errorf("event %d carries usage alongside choices: %s", i, ev)
		}
		ch := c.Choices[0]
		if i == 0 && ch.Delta.Role == "assistant" {
			s.RoleFirst = true
		} else if ch.Delta.Role != "" {
			t.Errorf("event %d repeats the role", i)
		}
		text := ch.Text
		if ch.Delta.Content != nil {
			text = *ch.Delta.Content
		}
		if text != "" {
			s.ContentChunks++
			s.Content += text
			if s.Finish != "" {
				s.FinishLast = false
			}
		}
		if ch.FinishReason != nil {
			s.Finish, s.FinishLast = *ch.FinishReason, true
		}
	}
	s.IDs = len(ids)
	return s
}

func TestStream(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	const prompt = "Tell me about dams."
	nonStreaming := func(path, body string) (string, usage) {
		_, b := fetch(t, ts, "POST", path, body)
		c := decode[chatCompletion](t, b)
		return c.Choices[0].Message.Content + c.Choices[0].Text, c.Usage
	}
	chatWant, chatUsage := nonStreaming("/v1/chat/completions", chatBody("gpt-4o", prompt, ""))
	shortWant, shortUsage := nonStreaming("/v1/chat/completions", chatBody("gpt-4o", prompt, `"max_tokens":4`))
	complBody := `{"model":"gpt-35-turbo-instruct","prompt":"Tell me about dams.","stream":true`
	complWant, complUsage := nonStreaming("/v1/completions", strings.Replace(complBody, `,"stream":true`, "}", 1))

	tests := []struct {
		name, path, body string
		chat             bool
		wantContent      string
		wantChunks       int
		wantFinish       string
		wantUsage        *usage
	}{
		{"chat", "/v1/chat/completions", chatBody("gpt-4o", prompt, `"stream":true`), true, chatWant, DefaultAnswerTokens, "stop", nil},
		{"chat with usage", "/v1/chat/completions", chatBody("gpt-4o", prompt, `"stream":true,"stream_options":{"include_usage":true}`), true, chatWant, DefaultAnswerTokens, "stop", &chatUsage},
		{"chat usage off", "/v1/chat/completions", chatBody("gpt-4o", prompt, `"stream":true,"stream_options":{"include_usage":false}`), true, chatWant, DefaultAnswerTokens, "stop", nil},
		{"chat cut short", "/v1/chat/completions", chatBody("gpt-4o", prompt, `"stream":true,"max_tokens":4,"stream_options":{"include_usage":true}`), true, shortWant, 4, "length", &shortUsage},
		{"azure chat", "/openai/deployments/d/chat/completions" + azureQuery, chatBody("", prompt, `"stream":true`), true, chatWant, DefaultAnswerTokens, "stop", nil},
		{"completions", "/v1/completions", complBody + "}", false, complWant, DefaultAnswerTokens, "stop", nil},
		{"completions with usage", "/openai/v1/completions", complBody + `,"stream_options":{"include_usage":true}}`, false, complWant, DefaultAnswerTokens, "stop", &complUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := send(context.Background(), ts, "POST", tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got, want := resp.Header.Get("Content-Type"), "text/event-stream; charset=utf-8"; resp.StatusCode != 200 || got != want {
				t.Fatalf("status %d, Content-Type %q; want 200 %q", resp.StatusCode, got, want)
			}
			events, err := sseEvents(resp.Body)
			if err != nil {
				t.Fatalf("reading stream: %v", err)
			}
			got := summarize(t, events, tt.chat)
			want := streamSummary{
				RoleFirst:     tt.chat,
				ContentChunks: tt.wantChunks,
				Content:       tt.wantContent,
				Finish:        tt.wantFinish,
				FinishLast:    true,
				UsageChunk:    tt.wantUsage,
				Done:          true,
				IDs:           1,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStreamEventFraming checks the bytes: each event is "data: JSON\n\n".
func TestStreamEventFraming(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "x", `"stream":true,"max_tokens":2`))
	events := strings.SplitAfter(string(body), "\n\n")
	if last := events[len(events)-1]; last != "" {
		t.Fatalf("stream does not end with a blank line: %q", last)
	}
	events = events[:len(events)-1]
	if got, want := len(events), 1+2+1+1; got != want {
		t.Fatalf("got %d events, want %d (role, 2 tokens, finish, [DONE]):\n%s", got, want, body)
	}
	for _, ev := range events {
		if !strings.HasPrefix(ev, "data: ") || strings.Count(ev, "\n") != 2 {
			t.Errorf("event %q is not a single data line", ev)
		}
	}
	if got, want := events[len(events)-1], "data: [DONE]\n\n"; got != want {
		t.Errorf("last event = %q, want %q", got, want)
	}
}

// TestStreamPaced checks that a paced stream sends the same events in the
// same order; it does not time them.
func TestStreamPaced(t *testing.T) {
	_, fast := newTestServer(t, Options{})
	_, paced := newTestServer(t, Options{TokensPerSecond: 2000})
	body := chatBody("m", "pace me", `"stream":true,"max_tokens":8,"stream_options":{"include_usage":true}`)
	read := func(ts *httptest.Server) streamSummary {
		resp, err := send(context.Background(), ts, "POST", "/v1/chat/completions", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		events, err := sseEvents(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return summarize(t, events, true)
	}
	if diff := cmp.Diff(read(fast), read(paced)); diff != "" {
		t.Errorf("paced stream differs from unpaced (-unpaced +paced):\n%s", diff)
	}
}

// TestStreamClientLeaves cancels a very slow stream after its first token:
// the handler must return (goleak and the server's Close would notice).
func TestStreamClientLeaves(t *testing.T) {
	returned := make(chan struct{})
	m := New(Options{TokensPerSecond: 0.001})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		m.ServeHTTP(w, r)
	}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := send(ctx, ts, "POST", "/v1/chat/completions", chatBody("m", "x", `"stream":true`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatalf("reading the first byte: %v", err)
	}
	cancel()
	<-returned
}

// TestCloseEndsStream closes the Server during a paced stream: the client
// must see a broken stream, not a clean end.
func TestCloseEndsStream(t *testing.T) {
	m, ts := newTestServer(t, Options{TokensPerSecond: 0.001})
	resp, err := send(context.Background(), ts, "POST", "/v1/chat/completions", chatBody("m", "x", `"stream":true`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatalf("reading the first byte: %v", err)
	}
	m.Close()
	events, err := sseEvents(resp.Body)
	if err == nil {
		t.Errorf("stream ended cleanly after Close with events %q, want an error", events)
	}
}
