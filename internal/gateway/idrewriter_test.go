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

// rewriterOf is a rewriter of the given pairs of upstream and client ids.
func rewriterOf(pairs ...string) *idRewriter {
	rw := &idRewriter{}
	rw.from, rw.to = rw.fromTo[0][:0], rw.fromTo[1][:0]
	for i := 0; i+1 < len(pairs); i += 2 {
		rw.add(pairs[i], pairs[i+1])
	}
	return rw
}

// compareRewrite holds rewrite of b, with spare bytes of free capacity
// past it, to replaceOld, and checks that b is left as it was.
func compareRewrite(t *testing.T, rw *idRewriter, b []byte, spare int) {
	t.Helper()
	want := replaceOld(rw.from, rw.to, append([]byte(nil), b...))
	in := make([]byte, len(b), len(b)+spare)
	copy(in, b)
	got := rw.rewrite(in, spare > 0)
	if !bytes.Equal(got, want) {
		t.Errorf("rewrite(%q) with %d spare, ids %q -> %q:\n got %q\nwant %q", b, spare, rw.from, rw.to, got, want)
	}
	if !bytes.Equal(in, b) {
		t.Errorf("rewrite(%q) with %d spare changed its input to %q", b, spare, in)
	}
}

func TestRewriteMatchesReplaceAll(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     string
		pairs []string
	}{
		{"no id", `{"id":"msg_1"}`, []string{"resp_1", "resp_sw1"}},
		{"one id", `{"id":"resp_1","x":1}`, []string{"resp_1", "resp_swONE"}},
		{"each occurrence", `resp_1 resp_1resp_1 "resp_1"`, []string{"resp_1", "X"}},
		{"overlapping occurrences", `aaaaa`, []string{"aa", "b"}},
		{"shorter replacement", `{"previous_response_id":"resp_long_id","id":"resp_long_id"}`, []string{"resp_long_id", "r"}},
		{"empty replacement", `xresp_1x`, []string{"resp_1", ""}},
		{"two ids", `{"id":"resp_2","previous_response_id":"resp_1"}`, []string{"resp_1", "resp_swA", "resp_2", "resp_swB"}},
		// The second id is searched for in what the first was
		// replaced by, as one bytes.ReplaceAll after the other did.
		{"an id in an earlier replacement", `{"id":"resp_1"}`, []string{"resp_1", "resp_2x", "resp_2", "Y"}},
		{"an id made by an earlier replacement", `ab`, []string{"a", "xy", "yb", "Z"}},
		{"an earlier id in a later replacement is left", `{"id":"resp_2"}`, []string{"resp_1", "A", "resp_2", "resp_1"}},
		{"four ids", `1 2 3 4 1 2 3 4`, []string{"1", "one", "2", "two", "3", "three", "4", "four"}},
		{"empty body", ``, []string{"resp_1", "x"}},
		// indexID finds an id by what follows its prefix.
		{"the rest of an id without its prefix", `{"a":"p_1","b":"esp_1","c":"resp_1","d":"resp_resp_1"}`, []string{"resp_1", "X"}},
		{"an id that is all prefix", `{"a":"resp_","b":"_resp_"}`, []string{"resp_", "X"}},
		{"a prefix past 16 bytes", `{"a":"abcdefghijklmnopq_1"}`, []string{"abcdefghijklmnopq_1", "X"}},
		{"a leading underscore", `_x _x`, []string{"_x", "Y"}},
		{"an id shorter than its prefix search", `a_ a_`, []string{"a_", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, spare := range []int{0, 1, len(tc.b), 4 * (len(tc.b) + 64)} {
				compareRewrite(t, rewriterOf(tc.pairs...), []byte(tc.b), spare)
			}
		})
	}
}

// FuzzRewrite holds rewrite to bytes.ReplaceAll one id after the other,
// whatever the ids and the room past the answer.
func FuzzRewrite(f *testing.F) {
	f.Add([]byte(benchResponsesResponse), "resp_68af0000deadbeef0000000000000000", "resp_swXYZ.abc", "", "", uint16(0))
	f.Add([]byte(`{"id":"resp_2","previous_response_id":"resp_1"}`), "resp_1", "resp_swA", "resp_2", "resp_swB", uint16(200))
	f.Add([]byte(`aaaa`), "aa", "a", "a", "aa", uint16(3))
	f.Add([]byte(`resp_resp_1 resp_1 xresp_1 esp_1 resp-1`), "resp_1", "R", "p_1", "P", uint16(40))
	f.Add([]byte(`_1_1_1 -a-a`), "_1", "x", "-a-", "y", uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, from1, to1, from2, to2 string, spare uint16) {
		var pairs []string
		for _, p := range [][2]string{{from1, to1}, {from2, to2}} {
			if p[0] != "" { // ids are never empty
				pairs = append(pairs, p[0], p[1])
			}
		}
		compareRewrite(t, rewriterOf(pairs...), b, int(spare))
	})
}

// TestRewriteAnswers rewrites the mock's answers as finish does, in the
// attempt's buffer, and holds them to the old rewrite.
func TestRewriteAnswers(t *testing.T) {
	g := benchGateway(t, "", "application/json")
	answers := mockAnswers(t,
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16}`,
		`{"model":"gpt-4o","input":"and then?","max_output_tokens":16,"previous_response_id":"{{previous}}"}`)
	prevID := readObjectState(answers[0]).ID
	prev := objectRef{id: g.encodeObject("a", "key-1", prevID), deployment: "a", upstream: prevID}
	for i, prev := range []objectRef{{}, prev} {
		buf := make([]byte, 32<<10)
		held := buf[:copy(buf, answers[i])]
		id := readObjectState(held).ID
		rw := rewriterFor(g, prev)
		got := rw.body(held, id)
		want := replaceOld(rw.from, rw.to, answers[i])
		if !bytes.Equal(got, want) {
			t.Errorf("answer %d:\n got %s\nwant %s", i, got, want)
		}
		if !bytes.Equal(held, answers[i]) {
			t.Errorf("answer %d: the held answer changed to %s", i, held)
		}
		if n := bytes.Count(got, rw.to[len(rw.to)-1]); n != 1 {
			t.Errorf("answer %d: the new id occurs %d times, want 1: %s", i, n, got)
		}
	}
}

// responseIDTricky are events whose response id json.Unmarshal reads in
// ways a plain scan would not.
var responseIDTricky = []string{
	`data: {"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}`,
	"event: response.created\r\ndata: {\"response\":{\"id\":\"resp_1\"}}\r\n\r\n",
	`data:{"response":{"id":"resp_1"}}`,
	`data: {"response":{"ID":"resp_1"}}`,
	`data: {"Response":{"id":"resp_1"}}`,
	`data: {"reſponse":{"id":"resp_1"}}`,
	`data: {"response":{"id":"resp_1","Id":"resp_2"}}`,
	`data: {"response":{"id":"resp_1"},"response":{"id":"resp_2"}}`,
	`data: {"response":{"id":"resp_1"},"response":{"x":1}}`,
	`data: {"response":{"id":"resp_1"},"response":null}`,
	`data: {"response":{"id":"resp_1","id":null}}`,
	`data: {"response":{"id":null}}`,
	`data: {"response":{"id":5}}`,
	`data: {"response":{"id":""}}`,
	`data: {"response":null}`,
	`data: {"response":"resp_1"}`,
	`data: {"response":[{"id":"resp_1"}]}`,
	`data: {"response":{"id":"resp_\u0031"}}`,
	`data: {"respons\u0065":{"id":"resp_1"}}`,
	`data: {"response":{"i\u0064":"resp_1"}}`,
	"data: {\"response\":{\"id\":\"resp_\xff\"}}",
	`data: {"response":{"id":"resp_1"}} x`,
	`data: {"response":{"id":"resp_1"}`,
	`data: {"response":{"id":"resp_1","x":[1,2,}}`,
	`data: {"response":{"id":"resp_1"},"n":01}`,
	`data: [{"response":{"id":"resp_1"}}]`,
	`data: null`,
	`data: {}`,
	`event: ping`,
	`data: {"item":{"id":"msg_1"},"response":{"output":[{"id":"msg_2"}],"id":"resp_3"}}`,
	`data: {"response":` + strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600) + `}`,
	`data: {"response":{"id":"resp_1","x":` + strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600) + `}}`,
	`data: {"x":` + strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat(`}`, 600) + `,"response":{"id":"resp_1"}}`,
}

func TestEventResponseID(t *testing.T) {
	evs := sseEvents(mockAnswers(t, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)[0])
	for _, ev := range evs {
		if got, want := eventResponseID(ev), createdOld(ev); got != want {
			t.Errorf("eventResponseID(%q) = %q, want %q", ev, got, want)
		}
	}
	if eventResponseID(evs[0]) == "" {
		t.Errorf("no id read from the mock's first event %q", evs[0])
	}
	for _, ev := range responseIDTricky {
		if got, want := eventResponseID([]byte(ev)), createdOld([]byte(ev)); got != want {
			t.Errorf("eventResponseID(%q) = %q, want %q", ev, got, want)
		}
	}
}

// FuzzResponseID holds eventResponseID to json.Unmarshal.
func FuzzResponseID(f *testing.F) {
	for _, ev := range sseEvents(mockAnswers(f, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)[0])[:3] {
		f.Add(ev)
	}
	for _, ev := range responseIDTricky {
		f.Add([]byte(ev))
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		if got, want := eventResponseID(ev), createdOld(ev); got != want {
			t.Errorf("eventResponseID(%q) = %q, json.Unmarshal reads %q", ev, got, want)
		}
	})
}

// FuzzIndexID holds indexID to bytes.Index.
func FuzzIndexID(f *testing.F) {
	f.Add([]byte(`{"a":"p_1","b":"esp_1","c":"resp_1"}`), []byte("resp_1"))
	f.Add([]byte(`resp_resp_1`), []byte("resp_1"))
	f.Add([]byte(`file-file-abc`), []byte("file-abc"))
	f.Fuzz(func(t *testing.T, b, id []byte) {
		if len(id) == 0 {
			return // ids are never empty
		}
		if got, want := indexID(b, id), bytes.Index(b, id); got != want {
			t.Errorf("indexID(%q, %q) = %d, bytes.Index %d", b, id, got, want)
		}
	})
}

// BenchmarkIndexID searches the mock's answer, past its id, for the id
// (the search that finds no more of them), with bytes.Index and with
// indexID.
func BenchmarkIndexID(b *testing.B) {
	answer := mockAnswers(b, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`)[0]
	id := []byte(readObjectState(answer).ID)
	rest := answer[bytes.Index(answer, id)+len(id):]
	for _, bc := range []struct {
		name  string
		index func(b, id []byte) int
	}{{"bytes.Index", bytes.Index}, {"indexID", indexID}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(rest)))
			for b.Loop() {
				if bc.index(rest, id) >= 0 {
					b.Fatal("found")
				}
			}
		})
	}
}

// BenchmarkServeResponsesMock is BenchmarkServeResponses with the mock's
// answer, as the bench's responses scenario gets it: three times the
// canned one, with its output item's id and the whole echo of the
// request.
func BenchmarkServeResponsesMock(b *testing.B) {
	answer := mockAnswers(b, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`)[0]
	benchServe(b, benchGateway(b, string(answer), "application/json"), "/v1/responses",
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"store":false}`)
}

// BenchmarkServeResponsesStream streams the mock's Responses answer
// (24 events, three of them holding the whole response) through the
// gateway: the new id read from the first event, every event searched
// for it.
func BenchmarkServeResponsesStream(b *testing.B) {
	answer := mockAnswers(b, `{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)[0]
	benchServe(b, benchGateway(b, string(answer), "text/event-stream"), "/v1/responses",
		`{"model":"gpt-4o","input":"hi","max_output_tokens":16,"stream":true}`)
}
