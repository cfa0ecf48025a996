package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

const streamBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`

func sseChunk(i int) string {
	return fmt.Sprintf("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d\"}}]}\n\n", i)
}

// TestStreamFirstChunkArrivesBeforeUpstreamFinishes holds the upstream
// after its first chunk until the client has read that chunk: a buffering
// gateway would deadlock here (and fail by the test's context), a streaming
// one passes.
func TestStreamFirstChunkArrivesBeforeUpstreamFinishes(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, sseChunk(1)+"data: [DONE]\n\n")
	}})
	resp := h.post("/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first chunk: %v", err)
	}
	if !strings.Contains(line, "tok0") {
		t.Fatalf("first line = %q, want the first chunk", line)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "tok1") || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("rest of stream = %q, want tok1 then [DONE]", rest)
	}
}

// TestStreamBrokenMidwayAborts: an upstream that dies after some chunks
// must not look like a complete answer: the client gets an in-band error
// event and an aborted connection, never [DONE].
func TestStreamBrokenMidwayAborts(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", priority: 1, handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, sseChunk(i))
			w.(http.Flusher).Flush()
		}
		panic(http.ErrAbortHandler)
	}}, &backend{id: "b", priority: 2, handler: func(w http.ResponseWriter, r *http.Request) {
		t.Error("a stream that broke after bytes reached the client was retried on another deployment")
	}})
	resp := h.post("/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("reading the stream ended cleanly, want a transport error")
	}
	got := string(b)
	if !strings.Contains(got, "tok2") {
		t.Errorf("stream = %q, want the chunks sent before the break", got)
	}
	if !strings.Contains(got, `"code":"stream_interrupted"`) {
		t.Errorf("stream = %q, want an in-band error event", got)
	}
	if strings.Contains(got, "[DONE]") {
		t.Errorf("stream = %q ends with [DONE], want no clean end", got)
	}
}

func TestIdleTimeoutBetweenChunksAborts(t *testing.T) {
	h := newHarness(t, harnessOptions{idle: 100 * time.Millisecond}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // silent forever
	}})
	resp := h.post("/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("stream ended cleanly, want an aborted connection")
	}
	if !strings.Contains(string(b), "idle timeout") {
		t.Errorf("stream = %q, want an error event naming the idle timeout", b)
	}
}

func TestFailureBeforeFirstBodyByteIsRetried(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", priority: 1, handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush() // headers only
		panic(http.ErrAbortHandler)
	}}, &backend{id: "b", priority: 2, handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseChunk(0)+"data: [DONE]\n\n")
	}})
	resp := h.post("/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got := resp.Header.Get("X-Spillway-Deployment"); got != "b" {
		t.Errorf("deployment = %q, want b", got)
	}
	if !strings.HasSuffix(string(b), "[DONE]\n\n") {
		t.Errorf("stream = %q, want a complete stream from b", b)
	}
}

// TestClientDisconnectCancelsUpstream proves that a client that goes away
// mid-stream cancels the upstream request.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(cancelled)
	}})
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
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second): // a liveness bound, not a performance claim
		t.Fatal("the upstream request was not cancelled after the client left")
	}
	// The deployment is not penalised for the client leaving.
	for _, s := range h.router.Status() {
		if s.Failures != 0 || s.State != "serving" {
			t.Errorf("deployment %s after a client disconnect: failures %d state %s, want 0 and serving", s.ID, s.Failures, s.State)
		}
	}
}

// TestStaleKeepAliveIsRetriedOnFreshConnection: an upstream that closes a
// kept-alive connection without answering (a restart, an idle timeout) must
// cost the client nothing, even with a single deployment.
func TestStaleKeepAliveIsRetriedOnFreshConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for conn := 0; ; conn++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Every connection answers one request, then drops the next one
			// unanswered, like a server restarting under a pooled conn.
			br := bufio.NewReader(c)
			if req, err := http.ReadRequest(br); err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				body := `{"id":"x","object":"chat.completion","choices":[]}`
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				if req, err := http.ReadRequest(br); err == nil {
					_, _ = io.Copy(io.Discard, req.Body)
				}
			}
			c.Close()
		}
	}()
	h := newHarness(t, harnessOptions{noRetries: true}, &backend{id: "a", endpoint: "http://" + ln.Addr().String()})
	for i := range 4 {
		code, _, body := h.chat()
		if code != http.StatusOK {
			t.Fatalf("request %d: status %d, body %s; want every request answered", i, code, body)
		}
	}
}

// TestHeldStreamKeepsOneBody: once a stream's answer has started, the
// exchange keeps the body the transport holds anyway (the one sent), not a
// second copy, unless the client's own is to be logged; and the prompt
// estimate, which may be made from the sent one, does not change.
func TestHeldStreamKeepsOneBody(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in French."}]}`)
	withUsage, _ := insertFirst(body, "stream_options", includeUsage)
	for _, tc := range []struct {
		name             string
		injected, logged bool
		wantBody         []byte
		wantUsage        []byte
	}{
		{"usage asked for, not logged: the sent body", true, false, withUsage, withUsage},
		{"usage asked for, logged: both", true, true, body, withUsage},
		{"sent as the client's: one", false, false, body, nil},
		{"sent as the client's, logged: one", false, true, body, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &exchange{body: body, usageBody: withUsage}
			req.keepSentBody(tc.injected, tc.logged)
			if !sameBytes(req.body, tc.wantBody) || !sameBytes(req.usageBody, tc.wantUsage) {
				t.Errorf("body %q, usageBody %q; want %q, %q", req.body, req.usageBody, tc.wantBody, tc.wantUsage)
			}
		})
	}
	if got, want := usage.EstimatePromptTokens("gpt-4o", withUsage), usage.EstimatePromptTokens("gpt-4o", body); got != want {
		t.Errorf("prompt estimate of the body sent with stream_options = %d, of the client's %d: they must agree", got, want)
	}
}

// sameBytes reports whether a and b are the same slice (not only equal).
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// TestStreamWaitsWithoutItsBuffer: a held stream waits for its next bytes
// in its small wait array, its buffer given back meanwhile, and
// reads on into the buffer only while an event is incomplete, so a whole
// event is never held back by a read that waits for the next one.
func TestStreamWaitsWithoutItsBuffer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reads   []string // what each Read of the upstream body returns
		pending string   // the meter's incomplete event before
		want    string
		first   bool // the first bytes, read before the meter exists
		// wantHeld is, per Read made, whether the buffer was held.
		wantHeld []bool
	}{
		{"long event: waits without, reads the rest with it",
			[]string{"data: {\"choices\":[{\"delta\":{\"content\":\"a token of", "\"}}]}\n\n"},
			"", "data: {\"choices\":[{\"delta\":{\"content\":\"a token of\"}}]}\n\n", false, []bool{false, true}},
		{"short whole event: no second read",
			[]string{"data: [DONE]\n\n", "never read"},
			"", "data: [DONE]\n\n", false, []bool{false}},
		{"the end of an event kept from before: no second read",
			[]string{"\n", "never read"},
			"data: x\n", "\n", false, []bool{false}},
		{"first bytes: wait for the first token without the buffer",
			[]string{"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"", "\"}}]}\n\n"},
			"", "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", true, []bool{false, true}},
		{"first bytes: a whole event, no second read",
			[]string{"data: [DONE]\n\n", "never read"},
			"", "data: [DONE]\n\n", true, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var held []bool
			up := &upstream{timeout: time.Minute}
			up.watch()
			defer up.unwatch()
			up.bufp = streamBufPool.Get().(*[]byte)
			defer up.close()
			reads := tc.reads
			up.resp = &http.Response{Body: io.NopCloser(readerFunc(func(p []byte) (int, error) {
				held = append(held, up.bufp != nil)
				n := copy(p, reads[0])
				if reads[0] = reads[0][n:]; reads[0] == "" {
					reads = reads[1:]
				}
				return n, nil
			}))}
			m := &meter{stream: true, pending: []byte(tc.pending)}
			if tc.first {
				m = nil
			}
			got, err := up.next(m)
			if err != nil || string(got) != tc.want {
				t.Fatalf("next = %q, %v; want %q", got, err, tc.want)
			}
			if fmt.Sprint(held) != fmt.Sprint(tc.wantHeld) {
				t.Errorf("buffer held during each read: %v, want %v", held, tc.wantHeld)
			}
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestStreamBurstIsOneWrite: events the upstream sent back to back (a
// busy stream, a fast model) reach the client in one write and flush per
// buffer's worth, not one per kilobyte: each flush is a syscall. A slow
// stream's short events keep the small buffer.
func TestStreamBurstIsOneWrite(t *testing.T) {
	var burst []byte
	for i := 0; len(burst) < streamBufSize+streamBurstSize-200; i++ {
		burst = append(burst, sseChunk(i)...)
	}
	for _, tc := range []struct {
		name        string
		body        []byte
		wantFlushes int
		wantBuf     int // the buffer's size at the end
	}{
		{"burst: the small buffer, then one burst buffer's worth", burst, 2, streamBurstSize},
		{"one short event", []byte(sseChunk(0)), 1, streamBufSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest := tc.body
			up := &upstream{timeout: time.Minute}
			up.watch()
			defer up.close()
			// The body hands out whatever is at hand, as net/http's
			// chunked reader does with chunks already buffered.
			up.resp = &http.Response{Body: io.NopCloser(readerFunc(func(p []byte) (int, error) {
				if len(rest) == 0 {
					return 0, io.EOF
				}
				n := copy(p, rest)
				rest = rest[n:]
				return n, nil
			}))}
			head, err := up.next(nil)
			if err != nil {
				t.Fatal(err)
			}
			up.head = head
			w := &countingFlusher{header: http.Header{}}
			m := &meter{stream: true, flush: true}
			written, readErr, writeErr := copyBody(w, up, m)
			if readErr != nil || writeErr != nil || written != int64(len(tc.body)) {
				t.Fatalf("copyBody = %d, %v, %v; want %d bytes", written, readErr, writeErr, len(tc.body))
			}
			if got, want := w.flushes, tc.wantFlushes; got != want {
				t.Errorf("%d flushes for %d bytes at hand, want %d", got, len(tc.body), want)
			}
			if got, want := cap(*up.bufp), tc.wantBuf; got != want {
				t.Errorf("buffer of %d bytes at the end, want %d", got, want)
			}
		})
	}
}

// countingFlusher is a client that takes everything and counts flushes.
type countingFlusher struct {
	header  http.Header
	flushes int
}

func (f *countingFlusher) Header() http.Header         { return f.header }
func (f *countingFlusher) Write(p []byte) (int, error) { return len(p), nil }
func (f *countingFlusher) WriteHeader(int)             {}
func (f *countingFlusher) Flush()                      { f.flushes++ }

// TestEventEnd pins where an event ends: its blank line, \n\n or
// \r\n\r\n (a \n\r\n ends it too), or -1 while it is incomplete.
func TestEventEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", -1},
		{"\n", -1},
		{"\n\n", 2},
		{"data: x", -1},
		{"data: x\n", -1},
		{"data: x\n\n", 9},
		{"data: x\n\ndata: y\n\n", 9},
		{"event: e\ndata: x\n\nrest", 18},
		{"data: x\r\n\r\n", 11},
		{"data: x\r\n\r", -1},
		{"data: x\n\r\n", 10},
		{"data: x\n\r", -1},
		{"a\nb\nc\n", -1},
		{"a\nb\nc\n\n", 7},
	} {
		if got := eventEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("eventEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestIndexKey: indexKey finds what bytes.Index finds, a key only where
// its quote opens it.
func TestIndexKey(t *testing.T) {
	for _, tc := range []struct {
		b, key string
		want   int
	}{
		{`{"usage":{"prompt_tokens":1}}`, `"usage":{`, 1},
		{`{"myusage":{"a":1},"usage":{"prompt_tokens":1}}`, `"usage":{`, 19},
		{`{"usage":null}`, `"usage":{`, -1},
		{`usage":{`, `"usage":{`, -1},
		{`"content":"`, `"content":"`, 0},
		{`{"delta":{"content":"a \"text\":\"b"}}`, `"text":"`, -1},
		{``, `"text":"`, -1},
		{`"`, `"text":"`, -1},
	} {
		got := indexKey([]byte(tc.b), []byte(tc.key))
		if got != tc.want {
			t.Errorf("indexKey(%q, %q) = %d, want %d", tc.b, tc.key, got, tc.want)
		}
		if want := strings.Index(tc.b, tc.key); got != want {
			t.Errorf("indexKey(%q, %q) = %d, strings.Index %d", tc.b, tc.key, got, want)
		}
	}
}
