package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/usage"
)

// rtWant is what a test expects of a realtime usage record.
type rtWant struct {
	Deployment string
	Status     int
	Total      int
}

func rtGot(r usage.Record) rtWant {
	return rtWant{Deployment: r.Deployment, Status: r.Status, Total: r.TotalTokens}
}

// TestRealtimeURLFormsAndAuth opens a session in each URL form and with
// each way of sending the key, asks for one response, and checks that the
// response's usage and then the session are recorded.
func TestRealtimeURLFormsAndAuth(t *testing.T) {
	tests := []struct {
		name, path   string
		header       http.Header
		protocols    []string
		wantProtocol string
	}{
		{"openai bearer", "/v1/realtime?model=gpt-realtime", http.Header{"Authorization": {"Bearer sk-key-open"}}, nil, ""},
		{"seed prefix api-key", "/api/v1/realtime?model=gpt-realtime", http.Header{"Api-Key": {"sk-key-open"}}, nil, ""},
		{"azure v1", "/openai/v1/realtime?model=gpt-realtime", http.Header{"Api-Key": {"sk-key-open"}}, []string{"realtime"}, "realtime"},
		{"azure preview", "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime", http.Header{"Api-Key": {"sk-key-open"}}, nil, ""},
		{"browser subprotocol", "/v1/realtime?model=gpt-realtime", nil, []string{"realtime", "openai-insecure-api-key.sk-key-open", "openai-beta.realtime-v1"}, "realtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRTEnv(t, rtOptions{})
			c, resp, err := e.dialWith(0, tt.path, &websocket.DialOptions{HTTPHeader: tt.header, Subprotocols: tt.protocols})
			if err != nil {
				t.Fatalf("dial: %v (%s)", err, rtBody(resp))
			}
			if got := c.Subprotocol(); got != tt.wantProtocol {
				t.Errorf("subprotocol = %q, want %q", got, tt.wantProtocol)
			}
			if got, want := resp.Header.Get("X-Spillway-Deployment"), "rt-east"; got != want {
				t.Errorf("x-spillway-deployment = %q, want %q", got, want)
			}
			created := next(t, c)
			var s struct{ Model string }
			_ = json.Unmarshal(created.Session, &s)
			if created.Type != "session.created" || s.Model != "realtime-east" {
				t.Errorf("first event = %s %q, want session.created of the upstream deployment realtime-east", created.Type, s.Model)
			}
			done := ask(t, c, "hello there")
			if done.Response.Usage == nil || done.Response.Usage.TotalTokens != 35 {
				t.Fatalf("response.done = %s, want usage of 35 tokens", done.raw)
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Errorf("close: %v", err)
			}
			e.recs.wait(t, 2)
			recs := e.recs.all()
			want := []rtWant{{"rt-east", 200, 35}, {"rt-east", 200, 0}}
			got := []rtWant{rtGot(recs[0]), rtGot(recs[1])}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			for _, r := range recs {
				if r.Endpoint != "realtime" || r.KeyID != "key-open" || r.Model != "gpt-realtime" {
					t.Errorf("record %+v: want endpoint realtime, key key-open, model gpt-realtime", r)
				}
			}
			if recs[0].Latency <= 0 {
				t.Errorf("response latency %v, want the time from response.created to response.done", recs[0].Latency)
			}
			if recs[0].Cost <= 0 {
				t.Errorf("response cost = %v, want the gpt-realtime price", recs[0].Cost)
			}
		})
	}
}

// TestRealtimeUpstreamHandshake checks what the upstream sees: the
// deployment's own key, never the client's (neither its header nor its
// subprotocol), the other subprotocols and the openai-beta header.
func TestRealtimeUpstreamHandshake(t *testing.T) {
	got := make(chan *http.Request, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Clone(context.Background())
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"session.created","session":{}}`))
		_, _, _ = c.Read(r.Context()) // until the client closes
	}))
	defer up.Close()
	e := newRTEnv(t, rtOptions{eastEndpoint: up.URL})
	c, resp, err := e.dialWith(0, "/v1/realtime?model=gpt-realtime", &websocket.DialOptions{
		HTTPHeader:   http.Header{"Openai-Beta": {"realtime=v1"}},
		Subprotocols: []string{"realtime", "openai-insecure-api-key.sk-key-open", "openai-beta.realtime-v1"},
	})
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, rtBody(resp))
	}
	r := <-got
	next(t, c)
	c.Close(websocket.StatusNormalClosure, "")
	type seen struct{ Path, Model, APIKey, Authorization, Protocols, Beta string }
	want := seen{"/openai/v1/realtime", "realtime-east", rtUpstreamKey, "", "realtime,openai-beta.realtime-v1", "realtime=v1"}
	if diff := cmp.Diff(want, seen{r.URL.Path, r.URL.Query().Get("model"), r.Header.Get("Api-Key"), r.Header.Get("Authorization"),
		r.Header.Get("Sec-Websocket-Protocol"), r.Header.Get("Openai-Beta")}); diff != "" {
		t.Errorf("upstream handshake (-want +got):\n%s", diff)
	}
}

// TestRealtimeFramesBothWays relays a binary frame (the mock echoes it)
// byte for byte, and a text frame that is not JSON to the upstream, whose
// error event comes back while the session goes on.
func TestRealtimeFramesBothWays(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	next(t, c)
	ctx := t.Context()
	payload := make([]byte, 200<<10) // several relay buffers
	_, _ = rand.Read(payload)
	if err := c.Write(ctx, websocket.MessageBinary, payload); err != nil {
		t.Fatal(err)
	}
	typ, echo, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || !bytes.Equal(echo, payload) {
		t.Fatalf("binary echo: type %v, %d bytes, equal %v, err %v; want the %d bytes back", typ, len(echo), bytes.Equal(echo, payload), err, len(payload))
	}
	send(t, c, `{"type": not json`)
	if ev := next(t, c); ev.Type != "error" || ev.Error.Code != "invalid_json" {
		t.Errorf("after garbage: %s, want the upstream's invalid_json error event", ev.raw)
	}
	if done := ask(t, c, "still there?"); done.Response.Status != "completed" {
		t.Errorf("response after garbage: %s", done.raw)
	}
}

// TestRealtimeFailoverAtConnect: an upstream that refuses the upgrade
// (429, 5xx, no listener) is cooled down and the next deployment takes
// the session; when none can, the client gets the HTTP error.
func TestRealtimeFailoverAtConnect(t *testing.T) {
	tests := []struct {
		name      string
		closed    bool // rt-east's port has no listener
		eastFault *mock.Fault
	}{
		{name: "429", eastFault: &mock.Fault{Kind: mock.FaultStatus, Status: 429, RetryAfter: 20 * time.Second}},
		{name: "503", eastFault: &mock.Fault{Kind: mock.FaultStatus, Status: 503}},
		{name: "connection refused", closed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := rtOptions{}
			if tt.closed {
				o.eastEndpoint = closedURL(t)
			}
			e := newRTEnv(t, o)
			if tt.eastFault != nil {
				e.mocks["east"].SetFaults([]mock.Fault{*tt.eastFault})
			}
			c, resp := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
			type where struct{ Deployment, Attempts, Model string }
			var s struct{ Model string }
			_ = json.Unmarshal(next(t, c).Session, &s)
			got := where{resp.Header.Get("X-Spillway-Deployment"), resp.Header.Get("X-Spillway-Attempts"), s.Model}
			if diff := cmp.Diff(where{"rt-west", "2", "gpt-realtime-2025-08-28"}, got); diff != "" {
				t.Errorf("first session (-want +got):\n%s", diff)
			}
			if done := ask(t, c, "hi"); done.Response.Usage == nil {
				t.Errorf("no usage from rt-west: %s", done.raw)
			}
			// rt-east is cooling down or failing: the next session goes
			// to rt-west at once, or after one more refused attempt.
			_, resp2 := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
			if got := resp2.Header.Get("X-Spillway-Deployment"); got != "rt-west" {
				t.Errorf("second session on %q, want rt-west", got)
			}
		})
	}
	t.Run("every deployment throttled", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{})
		for _, m := range e.mocks {
			m.SetFaults([]mock.Fault{{Kind: mock.FaultStatus, Status: 429, RetryAfter: 20 * time.Second}})
		}
		_, resp, err := e.dial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
		if err == nil {
			t.Fatal("dial succeeded, want a refused upgrade")
		}
		code, _ := rtErrorCode(t, resp)
		if resp.StatusCode != http.StatusTooManyRequests || code != "rate_limit_exceeded" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("got %d %s retry-after %q, want 429 rate_limit_exceeded with Retry-After", resp.StatusCode, code, resp.Header.Get("Retry-After"))
		}
	})
}

// TestRealtimeClosedOverLimits: a session whose key runs out of tpm or
// budget is closed after the response.done that did it, with an error
// event and close code 1008 naming the limit; the next connect is refused.
func TestRealtimeClosedOverLimits(t *testing.T) {
	tests := []struct {
		key, code, reason string
	}{
		{"sk-key-tpm", "rate_limit_exceeded", "rate limit of 80 tokens per minute reached for this key"},
		{"sk-key-budget", "budget_exhausted", "budget exhausted: 105 of 60 tokens used this day"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			e := newRTEnv(t, rtOptions{})
			c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", tt.key)
			next(t, c)
			if first := ask(t, c, "hello there"); first.Response.Usage.TotalTokens != 35 {
				t.Fatalf("first response: %s", first.raw)
			}
			if second := ask(t, c, "and again"); second.Response.Usage.TotalTokens != 70 {
				t.Fatalf("second response: %s", second.raw)
			}
			ev := next(t, c)
			if ev.Type != "error" || ev.Error.Code != tt.code || !strings.HasPrefix(ev.Error.Message, tt.reason) {
				t.Errorf("after the limit: %s, want an error event %s %q", ev.raw, tt.code, tt.reason)
			}
			_, _, err := c.Read(t.Context())
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.HasPrefix(ce.Reason, tt.reason) {
				t.Errorf("close = %v, want 1008 %q", err, tt.reason)
			}
			e.recs.wait(t, 3)
			got := []rtWant{}
			for _, r := range e.recs.all() {
				got = append(got, rtGot(r))
			}
			if diff := cmp.Diff([]rtWant{{"rt-east", 200, 35}, {"rt-east", 200, 70}, {"rt-east", 429, 0}}, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			_, resp, err := e.dial(0, "/v1/realtime?model=gpt-realtime", tt.key)
			if code, _ := rtErrorCode(t, resp); err == nil || resp.StatusCode != http.StatusTooManyRequests || code != tt.code {
				t.Errorf("next connect: err %v, want 429 %s", err, tt.code)
			}
		})
	}
}

// TestRealtimeDisconnects: a client that drops and an upstream that drops
// are recorded as 499 and 502, and the usage already seen stays recorded.
func TestRealtimeDisconnects(t *testing.T) {
	t.Run("client drops", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{})
		c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
		next(t, c)
		ask(t, c, "hello there")
		c.CloseNow()
		e.recs.wait(t, 2)
		got := []rtWant{rtGot(e.recs.all()[0]), rtGot(e.recs.all()[1])}
		if diff := cmp.Diff([]rtWant{{"rt-east", 200, 35}, {"rt-east", 499, 0}}, got); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	t.Run("upstream drops", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{})
		// session.created, 2 item events and 41 of a text response make
		// 44: the drop comes in the middle of the second response.
		e.mocks["east"].SetFaults([]mock.Fault{{Kind: mock.FaultResetMidStream, After: 60}})
		c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
		next(t, c)
		ask(t, c, "hello there")
		send(t, c, `{"type":"response.create","response":{"output_modalities":["text"]}}`)
		ev := until(t, c, "error")
		if ev.Error.Code != "upstream_disconnected" {
			t.Errorf("error event %s, want upstream_disconnected", ev.raw)
		}
		_, _, err := c.Read(t.Context())
		if got := websocket.CloseStatus(err); got != websocket.StatusBadGateway {
			t.Errorf("close status %v (%v), want 1014 bad gateway", got, err)
		}
		e.recs.wait(t, 2)
		got := []rtWant{rtGot(e.recs.all()[0]), rtGot(e.recs.all()[1])}
		if diff := cmp.Diff([]rtWant{{"rt-east", 200, 35}, {"rt-east", 502, 0}}, got); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
}

// TestRealtimeBadRequests: what a refused upgrade answers, OpenAI-shaped.
func TestRealtimeBadRequests(t *testing.T) {
	tests := []struct {
		name, path, key string
		status          int
		code, param     string
	}{
		{"no key", "/v1/realtime?model=gpt-realtime", "", 401, "missing_api_key", ""},
		{"bad key", "/v1/realtime?model=gpt-realtime", "sk-nope", 401, "invalid_api_key", ""},
		{"missing model", "/v1/realtime", "sk-key-open", 400, "missing_model", "model"},
		{"azure missing deployment", "/openai/realtime?api-version=2025-04-01-preview&model=gpt-realtime", "sk-key-open", 400, "missing_model", "deployment"},
		{"unknown model", "/v1/realtime?model=gpt-nope", "sk-key-open", 404, "model_not_found", "model"},
		{"chat model", "/v1/realtime?model=gpt-4o", "sk-key-open", 404, "model_not_found", "model"},
		{"model not allowed", "/v1/realtime?model=gpt-realtime", "sk-key-models", 403, "model_not_allowed", "model"},
		{"event over", "/v1/realtime?model=gpt-realtime", "sk-att-over", 403, "event_not_active", ""},
	}
	e := newRTEnv(t, rtOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := e.dial(0, tt.path, tt.key)
			if err == nil {
				t.Fatal("upgrade succeeded, want a refusal")
			}
			code, param := rtErrorCode(t, resp)
			if resp.StatusCode != tt.status || code != tt.code || param != tt.param {
				t.Errorf("got %d %s param %q, want %d %s param %q", resp.StatusCode, code, param, tt.status, tt.code, tt.param)
			}
		})
	}
	plain := []struct {
		name, method string
		status       int
		code         string
	}{
		{"not a websocket", http.MethodGet, http.StatusUpgradeRequired, "websocket_required"},
		{"post", http.MethodPost, http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tt := range plain {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.gws[0].URL+"/v1/realtime?model=gpt-realtime", nil)
			req.Header.Set("Authorization", "Bearer sk-key-open")
			resp, err := e.gws[0].Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			code, _ := rtErrorCode(t, resp)
			if resp.StatusCode != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, code, tt.status, tt.code)
			}
		})
	}
}

// TestRealtimeCallerRefusal: an upstream's 400 is the caller's problem:
// passed on with its code and message, not retried elsewhere.
func TestRealtimeCallerRefusal(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	e.mocks["east"].SetFaults([]mock.Fault{{Kind: mock.FaultStatus, Status: 400}})
	_, resp, err := e.dial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	code, _ := rtErrorCode(t, resp)
	if err == nil || resp.StatusCode != http.StatusBadRequest || code != "content_filter" || resp.Header.Get("X-Spillway-Attempts") != "1" {
		t.Errorf("got %d %s attempts %q, want the upstream's 400 content_filter after one attempt", resp.StatusCode, code, resp.Header.Get("X-Spillway-Attempts"))
	}
	if got := e.mocks["west"].Requests(); got != 0 {
		t.Errorf("rt-west got %d requests, want none: a caller error is not retried", got)
	}
}

// TestRealtimeCloseCodes: the upstream's close code reaches the client;
// a message over the size limit closes the client's session with 1009.
func TestRealtimeCloseCodes(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(4 * maxRealtimeMessage) // only the gateway's limit applies
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"session.created","session":{}}`))
		if _, m, err := c.Read(r.Context()); err == nil && string(m) == `{"type":"bye"}` {
			c.Close(4000, "session expired")
			return
		}
		_, _, _ = c.Read(r.Context())
	}))
	defer up.Close()

	t.Run("upstream close", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{eastEndpoint: up.URL})
		c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
		next(t, c)
		send(t, c, `{"type":"bye"}`)
		_, _, err := c.Read(t.Context())
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "session expired" {
			t.Errorf("close %v, want the upstream's 4000 session expired", err)
		}
		if got := rtGot(e.recs.wait(t, 1)); got.Status != http.StatusBadGateway {
			t.Errorf("session record %+v, want 502", got)
		}
	})
	t.Run("message too big", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{eastEndpoint: up.URL})
		c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
		next(t, c)
		_ = c.Write(t.Context(), websocket.MessageText, bytes.Repeat([]byte("a"), maxRealtimeMessage+1))
		_, _, err := c.Read(t.Context())
		if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
			t.Errorf("close %v (%v), want 1009", got, err)
		}
		e.recs.wait(t, 1)
	})
}

// TestRealtimeLargeResponseDone: a response.done longer than the relay's
// buffer (a long transcript) is still read whole for its usage, and
// reaches the client unchanged.
func TestRealtimeLargeResponseDone(t *testing.T) {
	transcript := strings.Repeat("word ", 40<<10) // 200 KiB
	done := `{"type":"response.done","event_id":"event_1","response":{"id":"resp_1","status":"completed","output":[{"type":"message","content":[{"type":"audio","transcript":"` +
		transcript + `"}]}],"usage":{"total_tokens":1234,"input_tokens":34,"output_tokens":1200}}}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"session.created","session":{}}`))
		_ = c.Write(r.Context(), websocket.MessageText, []byte(done))
		_, _, _ = c.Read(r.Context())
	}))
	defer up.Close()
	e := newRTEnv(t, rtOptions{eastEndpoint: up.URL})
	c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	next(t, c)
	if got := next(t, c); string(got.raw) != done {
		t.Errorf("the client got %d bytes, want the upstream's %d unchanged", len(got.raw), len(done))
	}
	if got := e.recs.wait(t, 1); got.TotalTokens != 1234 || got.CompletionTokens != 1200 {
		t.Errorf("record %+v, want 1234 tokens, 1200 output", got)
	}
}

// TestRealtimeConcurrentSessions: sessions that end every way at once,
// each recorded once; goleak (TestMain) checks nothing is left running.
func TestRealtimeConcurrentSessions(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // liveness bound
			defer cancel()
			c, _, err := websocket.Dial(ctx, e.url(0, "/v1/realtime?model=gpt-realtime"), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer sk-key-open"}}})
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			c.SetReadLimit(1 << 24)
			_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"response.create","response":{"output_modalities":["audio"]}}`))
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					errs <- err
					return
				}
				if i%3 == 0 && bytes.Contains(b, []byte(`"response.output_audio.delta"`)) {
					c.CloseNow() // drops mid-response
					errs <- nil
					return
				}
				if bytes.Contains(b, []byte(`"response.done"`)) {
					errs <- c.Close(websocket.StatusNormalClosure, "")
					return
				}
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// Each session is recorded once when it ends (no tokens); each
	// response.done that was relayed, once more. A session dropped
	// mid-response may still have had its response.done relayed (and
	// charged) before the gateway noticed.
	sessions := func() (byStatus map[int]int, responses int) {
		byStatus = map[int]int{}
		for _, r := range e.recs.all() {
			if r.TotalTokens == 0 {
				byStatus[r.Status]++
			} else if r.Status == http.StatusOK {
				responses++
			}
		}
		return byStatus, responses
	}
	e.recs.waitFor(t, func(usage.Record) bool {
		byStatus, _ := sessions()
		return byStatus[200]+byStatus[499] >= n
	})
	byStatus, responses := sessions()
	if diff := cmp.Diff(map[int]int{200: n - n/3, 499: n / 3}, byStatus); diff != "" {
		t.Errorf("session records by status (-want +got):\n%s", diff)
	}
	if responses < n-n/3 || responses > n {
		t.Errorf("%d response records, want one per completed session (%d) and at most one per session", responses, n-n/3)
	}
}

// TestRealtimeRPM: a session is a request to the key's rpm limit.
func TestRealtimeRPM(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-rpm")
	next(t, c)
	_, resp, err := e.dial(0, "/v1/realtime?model=gpt-realtime", "sk-key-rpm")
	if code, _ := rtErrorCode(t, resp); err == nil || resp.StatusCode != http.StatusTooManyRequests || code != "rate_limit_exceeded" {
		t.Errorf("second session in the minute: err %v, want 429 rate_limit_exceeded", err)
	}
	e.clock.Advance(time.Minute)
	if _, resp, err := e.dial(0, "/v1/realtime?model=gpt-realtime", "sk-key-rpm"); err != nil {
		t.Errorf("next minute: %v (%s), want a session", err, rtBody(resp))
	}
}

// TestRealtimeShutdownCut: shutdown ends a live session with an error
// event and close code 1001, and records it.
func TestRealtimeShutdownCut(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	c, _ := e.mustDial(0, "/v1/realtime?model=gpt-realtime", "sk-key-open")
	next(t, c)
	ask(t, c, "hello there")
	if n := e.gateways[0].Cut(t.Context()); n != 1 {
		t.Errorf("Cut = %d, want 1 session", n)
	}
	if ev := next(t, c); ev.Type != "error" || ev.Error.Code != "gateway_shutdown" {
		t.Errorf("event %s, want gateway_shutdown", ev.raw)
	}
	_, _, err := c.Read(t.Context())
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("close %v (%v), want 1001", got, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // liveness bound
	defer cancel()
	if err := e.gateways[0].Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got := rtGot(e.recs.wait(t, 2)); got != (rtWant{"rt-east", 503, 0}) {
		t.Errorf("session record %+v, want 503", got)
	}
}

// rtErrorCode decodes a refused handshake's OpenAI error, checking that
// it carries all four fields.
func rtErrorCode(t *testing.T, resp *http.Response) (code, param string) {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP answer")
	}
	var body struct {
		Error map[string]any `json:"error"`
	}
	raw := rtBody(resp)
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := body.Error[k]; !ok {
			t.Errorf("error %s has no %q", raw, k)
		}
	}
	code, _ = body.Error["code"].(string)
	param, _ = body.Error["param"].(string)
	return code, param
}
