package gateway

import (
	"bytes"
	"math"
	"testing"

	"github.com/spillwayhq/spillway/internal/usage"
)

// inspectEvents are the server-sent events a stream's meter reads, as the
// upstreams send them.
var inspectEvents = []struct{ name, ev string }{
	{"chat", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" exercitation\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
	{"chat-role", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
	{"chat-usage", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":16,\"total_tokens\":25,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n"},
	{"chat-usage-null", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" exercitation\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"},
	{"responses-delta", "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":7,\"item_id\":\"msg_mock_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" exercitation\",\"logprobs\":[]}\n\n"},
	{"responses-done", "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"sequence_number\":22,\"item_id\":\"msg_mock_1\",\"output_index\":0,\"content_index\":0,\"text\":\"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation\",\"logprobs\":[]}\n\n"},
	{"completions", "data: {\"id\":\"cmpl-mock-1\",\"object\":\"text_completion\",\"created\":1796574518,\"model\":\"gpt-35-turbo-instruct\",\"choices\":[{\"text\":\" exercitation\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
}

// BenchmarkInspect is the meter's work on one event of a stream; a
// 16-token chat answer is about 19 of them.
func BenchmarkInspect(b *testing.B) {
	for _, e := range inspectEvents {
		b.Run(e.name, func(b *testing.B) {
			ev := []byte(e.ev)
			m := meter{stream: true, strip: true, text: make([]byte, 0, 1024)}
			b.ReportAllocs()
			for b.Loop() {
				m.text = m.text[:0]
				m.inspect(ev)
			}
		})
	}
}

// inspectBefore is inspect as it was before it walked the event once: a
// search over the whole event for the usage key, then for every
// "content" string, then for every "text" string. It is the reference
// FuzzInspect holds inspect to.
func inspectBefore(m *meter, ev []byte) bool {
	if i := indexKeyBefore(ev, usageObject); i >= 0 {
		if u, ok := parseUsage(ev[i+len(`"usage":`):]); ok {
			m.usage, m.found = u, true
		}
		return m.strip && bytes.Contains(ev, emptyChoice)
	}
	limit := maxStreamText
	if m.keepBody {
		limit = usage.MaxPayloadBytes
	}
	if len(m.text) < limit {
		m.text = appendJSONStringBefore(m.text, ev, contentKey)
		m.text = appendJSONStringBefore(m.text, ev, textKey)
	} else {
		m.textOver = int32(min(int(m.textOver)+jsonStringBytesBefore(ev, contentKey)+jsonStringBytesBefore(ev, textKey), math.MaxInt32))
	}
	return false
}

func indexKeyBefore(b, key []byte) int {
	for off := 0; off < len(b); {
		i := bytes.Index(b[off+1:], key[1:])
		if i < 0 {
			return -1
		}
		if i += off; b[i] == '"' {
			return i
		}
		off = i + 1
	}
	return -1
}

func jsonStringBytesBefore(ev, key []byte) int {
	n := 0
	for quoted, _, rest, ok := nextJSONStringBefore(ev, key); ok; quoted, _, rest, ok = nextJSONStringBefore(rest, key) {
		n += len(quoted) - 2
	}
	return n
}

func appendJSONStringBefore(dst, ev, key []byte) []byte {
	for quoted, escaped, rest, ok := nextJSONStringBefore(ev, key); ok; quoted, escaped, rest, ok = nextJSONStringBefore(rest, key) {
		if escaped {
			dst = append(dst, unquote(quoted, true)...)
		} else {
			dst = append(dst, quoted[1:len(quoted)-1]...)
		}
	}
	return dst
}

func nextJSONStringBefore(ev, key []byte) (quoted []byte, escaped bool, rest []byte, ok bool) {
	i := indexKeyBefore(ev, key)
	if i < 0 {
		return nil, false, nil, false
	}
	s := scanner{b: ev, i: i + len(key) - 1}
	start, end, escaped, err := s.str()
	if err != nil {
		return nil, false, nil, false
	}
	return ev[start:end], escaped, ev[end:], true
}

// inspectTricky are events that are not what an upstream sends, or only
// rarely: keys inside values, keys over values, several of a key, a key in
// both orders, truncations, escapes.
var inspectTricky = []string{
	`{"content":"a","content":"b","text":"c","text":"d"}`,
	`{"text":"c","content":"a"}`,
	`{"text":"c","content":"a","text":"d","content":"b"}`,
	`{"content":"content":"x"}`,
	`{"content":"a"content":"b"}`,
	`{"content":"\"text":"x"}`,
	`{"content":"\"usage":{"prompt_tokens":1}}`,
	`{"content":"x\"content\":\"y","text":"\\\"text\":\"z"}`,
	`{"content":"a\\","text":"b"}`,
	`{"content":"a\u00e9\n\t\"b\\c\/d"}`,
	`{"content":"\ud83d\ude00","text":"\u0041"}`,
	`{"content":"bad \x escape","text":"ok","content":"later"}`,
	"{\"content\":\"control \x01 char\",\"text\":\"ok\"}",
	"{\"content\":\"\xff\xfe invalid utf-8\"}",
	`{"content":"trunc`,
	`{"content":"a","content":"trunc`,
	`{"content":"a","text":"b\`,
	`{"content":`,
	`"content":"`,
	`"text":"x"`,
	`{"content": "spaced","text" :"spaced"}`,
	`{"content":null,"text":null,"usage":null}`,
	`{"usage":null,"content":"x"}`,
	`{"content":"before","usage":{"prompt_tokens":1,"completion_tokens":2}}`,
	`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[]}`,
	`{"usage":{"prompt_tokens":1`,
	`{"usage":{"total_tokens":3}}`,
	`{"usage":{"prompt_tokens":1}}{"usage":{"prompt_tokens":2}}`,
	`{"x":"usage","usage":"y","content":"usage":{"input_tokens":4,"output_tokens":5}}`,
	`{"usage":{"type":"duration","seconds":3.5}}`,
	`{"a":":::\":\"","content":"::"}`,
	`{"xcontent":"a","context":"b","ext":"c","tex":"d","content":"e"}`,
	`:"text":"x"`,
	`::`,
	``,
	`"`,
	`:`,
}

// TestInspectMatchesBefore runs inspect and inspectBefore over the events
// the upstreams send and the tricky ones, with room for the text, with
// none, and stripping or not.
func TestInspectMatchesBefore(t *testing.T) {
	var evs []string
	for _, e := range inspectEvents {
		evs = append(evs, e.ev)
	}
	evs = append(evs, inspectTricky...)
	for _, ev := range evs {
		for _, full := range []bool{false, true} {
			for _, strip := range []bool{false, true} {
				compareInspect(t, []byte(ev), full, strip)
			}
		}
	}
}

// FuzzInspect holds inspect to inspectBefore: the same text, text over
// the bound, usage, and answer for any bytes.
func FuzzInspect(f *testing.F) {
	for _, e := range inspectEvents {
		f.Add([]byte(e.ev), false, true)
	}
	for _, ev := range inspectTricky {
		f.Add([]byte(ev), false, true)
		f.Add([]byte(ev), true, false)
	}
	f.Fuzz(func(t *testing.T, ev []byte, full, strip bool) {
		compareInspect(t, ev, full, strip)
	})
}

// compareInspect runs both on ev with a meter that has text already, full
// to maxStreamText or not.
func compareInspect(t *testing.T, ev []byte, full, strip bool) {
	t.Helper()
	newMeter := func() *meter {
		m := &meter{stream: true, strip: strip, text: []byte("kept "), textOver: 7}
		if full {
			m.text = bytes.Repeat([]byte("x"), maxStreamText)
		}
		return m
	}
	got, want := newMeter(), newMeter()
	gotDrop, wantDrop := got.inspect(ev), inspectBefore(want, ev)
	if gotDrop != wantDrop || !bytes.Equal(got.text, want.text) || got.textOver != want.textOver || got.usage != want.usage || got.found != want.found {
		t.Errorf("inspect(%q) full=%v strip=%v:\n got drop=%v text=%q over=%d usage=%+v found=%v\nwant drop=%v text=%q over=%d usage=%+v found=%v",
			ev, full, strip, gotDrop, got.text, got.textOver, got.usage, got.found, wantDrop, want.text, want.textOver, want.usage, want.found)
	}
}

// FuzzIndexKey: indexKey finds what bytes.Index finds, for every key the
// meter and parseUsage look for.
func FuzzIndexKey(f *testing.F) {
	keys := []string{`"usage":{`, `"choices":[]`, `"content":"`, `"text":"`, `"prompt_tokens":`, `"completion_tokens":`,
		`"input_tokens":`, `"output_tokens":`, `"seconds":`, `"cached_tokens":`, `"reasoning_tokens":`, `"total_tokens":`}
	for _, e := range inspectEvents {
		f.Add([]byte(e.ev))
	}
	for _, ev := range inspectTricky {
		f.Add([]byte(ev))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, key := range keys {
			if got, want := indexKey(b, []byte(key)), bytes.Index(b, []byte(key)); got != want {
				t.Errorf("indexKey(%q, %q) = %d, bytes.Index %d", b, key, got, want)
			}
		}
	})
}
