package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/usage"
)

// plainTestGateway is the plain path as serve runs it: a static key
// without limits, through the access checker, answered by answer
// (benchGateway's two deployments).
func plainTestGateway(t testing.TB, answer, contentType string) *Gateway {
	t.Helper()
	g := benchGateway(t, answer, contentType)
	g.access = access.New(access.Options{Limiter: limits.NewMemory(nil), Logger: slog.New(slog.DiscardHandler)})
	return g
}

// TestSettlePlainAllocatesNothing: settling a request of a key without
// limits, every request of the plain path, has nothing to correct and
// allocates nothing (it made a context of its own for the limiter).
func TestSettlePlainAllocatesNothing(t *testing.T) {
	g := plainTestGateway(t, benchChatResponse, "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := &exchange{r: httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil).WithContext(ctx)}
	var err error
	if req.grant, err = g.access.Admit(ctx, &auth.Principal{KeyID: "k"}, access.Request{Model: "gpt-4o"}); err != nil {
		t.Fatal(err)
	}
	req.admitted = true
	rec := usage.Record{TotalTokens: 17, Cost: 0.001}
	if got := testing.AllocsPerRun(100, func() { g.settle(req, result{}, &rec) }); got != 0 {
		t.Errorf("settle allocated %v times per request, want 0", got)
	}
}

// countingBody counts the reads of an answer's body.
type countingBody struct{ reads int }

func (c *countingBody) Read([]byte) (int, error) { c.reads++; return 0, io.EOF }
func (c *countingBody) Close() error             { return nil }

// TestCopyWholeAnswer: a JSON answer the attempt read to its end goes to
// the client in one write, its usage read where it lies: the body is not
// read again, and nothing is allocated (the meter copied the answer's
// tail, and read the body once more for its end).
func TestCopyWholeAnswer(t *testing.T) {
	body := &countingBody{}
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	head := append((*bufp)[:0], benchChatResponse...)
	up := &upstream{resp: &http.Response{Body: body}, bufp: bufp, timeout: time.Minute}
	up.watch()
	defer up.unwatch()
	w := &flushDiscard{header: http.Header{}}
	var m meter
	copyOnce := func() {
		up.head, up.whole = head, true
		m = meter{}
		written, readErr, writeErr := copyBody(w, up, &m)
		if readErr != nil || writeErr != nil || written != int64(len(benchChatResponse)) {
			t.Fatalf("copyBody = %d, %v, %v; want %d, nil, nil", written, readErr, writeErr, len(benchChatResponse))
		}
	}
	allocs := testing.AllocsPerRun(100, copyOnce)
	if got, want := m.usage, (tokens{Prompt: 9, Completion: 8, Total: 17}); !m.found || got != want {
		t.Errorf("usage = %+v (found %v), want %+v", got, m.found, want)
	}
	if m.tail != nil {
		t.Error("the meter still holds the tail, in a buffer given back")
	}
	if body.reads != 0 {
		t.Errorf("the body was read %d times after its end, want 0", body.reads)
	}
	if allocs != 0 {
		t.Errorf("copyBody allocated %v times per answer, want 0", allocs)
	}
}

// TestPeekMaxTokensAllocatesNothing: peeking at a cap's field keeps its
// name without an allocation (it copied the name from the body).
func TestPeekMaxTokensAllocatesNothing(t *testing.T) {
	for _, field := range []string{"max_tokens", "max_completion_tokens"} {
		body := []byte(`{"messages":[{"role":"user","content":"hi"}],"` + field + `":16}`)
		var p peeked
		allocs := testing.AllocsPerRun(100, func() {
			var err error
			if p, err = peek(body); err != nil {
				t.Fatal(err)
			}
		})
		if p.maxField != field || p.MaxTokens != 16 {
			t.Errorf("%s: peeked field %q = %d, want %q = 16", field, p.maxField, p.MaxTokens, field)
		}
		if allocs != 0 {
			t.Errorf("%s: peek allocated %v times, want 0", field, allocs)
		}
	}
}

// TestRewriterAddsWithoutAllocating: the ids an answer rewrites are kept
// in the rewriter's own arrays: the rewriter and the ids' copies are its
// only allocations.
func TestRewriterAddsWithoutAllocating(t *testing.T) {
	g := plainTestGateway(t, benchResponsesResponse, "application/json")
	req := &exchange{spec: provider.Responses.Spec(), principal: &auth.Principal{KeyID: "k"},
		object: objectRef{id: "resp_c1", upstream: "resp_u1"}, prev: objectRef{id: "resp_c2", upstream: "resp_u2"}, conv: objectRef{id: "conv_c3", upstream: "conv_u3"}}
	var rw *idRewriter
	allocs := testing.AllocsPerRun(100, func() { rw = g.newIDRewriter(req, "a", 200) })
	if len(rw.from) != 3 || string(rw.from[2]) != "conv_u3" || string(rw.to[2]) != "conv_c3" {
		t.Errorf("rewriter from %q to %q, want the three ids", rw.from, rw.to)
	}
	if want := 1.0 + 2*3; allocs > want {
		t.Errorf("newIDRewriter allocated %v times for three ids, want at most %v", allocs, want)
	}
}

// TestAdmitDeferredAllocs: admitting a request whose counted limits are
// left to the first pick (a key with rpm and tpm, its event's daily cap)
// allocates only their keys' string: the prompt estimator is the exchange
// itself, where a method value of it was an allocation per request.
func TestAdmitDeferredAllocs(t *testing.T) {
	g := plainTestGateway(t, benchChatResponse, "application/json")
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}],"max_tokens":64}`)
	pk, err := peek(body)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p := &auth.Principal{KeyID: "k", RPM: 1 << 40, TPM: 1 << 50,
		Event: &auth.Event{ID: "ev", Active: true, Start: now.Add(-time.Hour), End: now.Add(time.Hour), DailyRequestCap: 1 << 40}}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req := &exchange{r: r, w: httptest.NewRecorder(), op: provider.Chat, spec: provider.Chat.Spec(),
		principal: p, model: "gpt-4o", body: body, peek: pk}
	admit := func() {
		if err := g.admit(r, req, true); err != nil {
			t.Fatal(err)
		}
		if req.pending == nil || !req.pending.Deferred() {
			t.Fatal("the count was not deferred")
		}
		releasePending(req)
	}
	admit()
	if req.prompt == 0 {
		t.Fatal("the prompt was not estimated for the tpm limit")
	}
	if got, want := testing.AllocsPerRun(100, admit), 1.0; got != want {
		t.Errorf("admit allocated %v times per request, want %v (the limiter keys)", got, want)
	}
}

// TestAnswerDropsHopHeaders: the upstream's connection-level headers never
// reach the client; its end-to-end ones do.
func TestAnswerDropsHopHeaders(t *testing.T) {
	g := benchGateway(t, benchChatResponse, "application/json")
	g.transport = &cannedTransport{body: []byte(benchChatResponse), header: http.Header{
		"Content-Type": {"application/json"}, "Openai-Processing-Ms": {"12"},
		// Connection names headers of this hop too (RFC 9110 7.6.1).
		"Connection": {"keep-alive, X-Hop-Only", "x-hop-too"}, "X-Hop-Only": {"a"}, "X-Hop-Too": {"b"},
		"Keep-Alive": {"timeout=5"}, "Proxy-Connection": {"keep-alive"},
		"Proxy-Authenticate": {"Basic"}, "Proxy-Authorization": {"Basic x"}, "Te": {"trailers"},
		"Trailer": {"X-Checksum"}, "Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"},
	}}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("Authorization", "Bearer "+testKey)
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	for _, k := range append(hopHeaders[:len(hopHeaders):len(hopHeaders)], "X-Hop-Only", "X-Hop-Too") {
		if v, ok := w.Header()[k]; ok {
			t.Errorf("answer carries the upstream's %s: %q", k, v)
		}
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Openai-Processing-Ms": "12"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
