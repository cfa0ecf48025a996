package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/provider"
)

// mockAnswers asks the mock for the answers to Responses request bodies,
// in order, on one server (so a later body can continue an earlier answer
// with {{previous}}, the id of the answer before it).
func mockAnswers(tb testing.TB, bodies ...string) [][]byte {
	tb.Helper()
	m := mock.New(mock.Options{Seed: 1})
	defer m.Close()
	var out [][]byte
	prev := ""
	for _, body := range bodies {
		r := httptest.NewRequest(http.MethodPost, "/openai/v1/responses", strings.NewReader(strings.ReplaceAll(body, "{{previous}}", prev)))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			tb.Fatalf("mock answered %d: %s", w.Code, w.Body)
		}
		out = append(out, w.Body.Bytes())
		prev = readObjectState(w.Body.Bytes()).ID
	}
	return out
}

// sseEvents splits a stream into its events.
func sseEvents(b []byte) [][]byte {
	var evs [][]byte
	for len(b) > 0 {
		n := eventEnd(b)
		if n < 0 {
			n = len(b)
		}
		evs = append(evs, b[:n])
		b = b[n:]
	}
	return evs
}

// rewriterFor is the rewriter of a successful Responses answer for a
// request that continues prev (none when its upstream id is "").
func rewriterFor(g *Gateway, prev objectRef) *idRewriter {
	req := &exchange{spec: provider.Responses.Spec(), principal: &auth.Principal{KeyID: "key-1"}, prev: prev}
	return g.newIDRewriter(req, "a", http.StatusOK)
}

// replaceOld is replace as it was, one bytes.ReplaceAll per id that
// occurs: the reference the rewrite is held to.
func replaceOld(from, to [][]byte, b []byte) []byte {
	for i, f := range from {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, to[i])
		}
	}
	return b
}

// createdOld is how event read a new response's id, json.Unmarshal of
// the event's data: the reference for the scan that replaced it.
func createdOld(ev []byte) string {
	data := eventData(ev)
	if data == nil {
		return ""
	}
	var e struct {
		Response struct {
			ID string `json:"id"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	return e.Response.ID
}

// BenchmarkRewriteAnswer rewrites the ids of the mock's Responses answer
// as finish does: the new response's id signed, then every id replaced,
// in the attempt's 32 KiB buffer. "previous" continues an earlier
// response, so two ids are replaced.
func BenchmarkRewriteAnswer(b *testing.B) {
	g := benchGateway(b, "", "application/json")
	answers := mockAnswers(b,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16}`,
		`{"model":"gpt-4o","input":"and then?","max_output_tokens":16,"previous_response_id":"{{previous}}"}`)
	prevID := readObjectState(answers[1]).ID
	prev := objectRef{id: g.encodeObject("a", "key-1", prevID), deployment: "a", upstream: prevID}
	for _, bc := range []struct {
		name   string
		answer []byte
		prev   objectRef
	}{
		{"new", answers[0], objectRef{}},
		{"previous", answers[2], prev},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 32<<10)
			held := buf[:copy(buf, bc.answer)]
			id := readObjectState(held).ID
			b.ReportAllocs()
			b.SetBytes(int64(len(held)))
			for b.Loop() {
				if out := rewriterFor(g, bc.prev).body(held, id); len(out) <= len(held) {
					b.Fatal("not rewritten")
				}
			}
		})
	}
}

// BenchmarkRewriteStream rewrites the events of the mock's streamed
// Responses answer one by one, as the meter does: the first carries the
// new response's id, and every event is searched for it.
func BenchmarkRewriteStream(b *testing.B) {
	g := benchGateway(b, "", "text/event-stream")
	evs := sseEvents(mockAnswers(b, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)[0])
	b.ReportAllocs()
	for b.Loop() {
		rw := rewriterFor(g, objectRef{})
		for _, ev := range evs {
			rw.event(ev)
		}
		if rw.made == "" {
			b.Fatal("no id found")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}
