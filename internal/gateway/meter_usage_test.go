package gateway

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// usageObjects are usage objects as the upstreams send them: chat's,
// the Responses API's, the Realtime API's and Whisper's.
var usageObjects = []struct{ name, obj string }{
	{"chat", `{"prompt_tokens":8,"completion_tokens":16,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`},
	{"chat-short", `{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}`},
	{"responses", `{"input_tokens":5,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":21}`},
	{"realtime", `{"type":"tokens","input_tokens":14,"input_token_details":{"text_tokens":0,"audio_tokens":14},"output_tokens":45}`},
	{"whisper", `{"type":"duration","seconds":12.5}`},
}

// usageTricky are objects no upstream sends: keys inside strings, keys
// with escapes that end in a name, spaces before a colon, a key twice,
// values that are not counts, truncations and bad syntax.
var usageTricky = []string{
	`{"a\"prompt_tokens":3,"completion_tokens":4}`,
	`{"\"prompt_tokens":3}`,
	`{"x":"\"prompt_tokens\":3","prompt_tokens":4}`,
	`{"prompt_tokens" :3,"input_tokens":5}`,
	`{"prompt_tokens":3,"prompt_tokens":4,"completion_tokens":1}`,
	`{"d":{"prompt_tokens":3},"prompt_tokens":4}`,
	`{"prompt_tokens":"3","input_tokens":5,"output_tokens":6}`,
	`{"prompt_tokens":-3,"input_tokens":5}`,
	`{"prompt_tokens":3.9,"completion_tokens":1e3}`,
	`{"prompt_tokens":1234567890123456789012,"completion_tokens":0}`,
	`{"prompt_tokens": 	 7 ,"total_tokens":0}`,
	`{"prompt_tokens":1,"total_tokens":-1}`,
	`{"prompt_tokens":null,"seconds":2}`,
	`{"seconds":-0}`,
	`{"seconds":-1}`,
	`{"seconds":1e999}`,
	`{"seconds":0.5e-3,"total_tokens":9}`,
	`{"xseconds":1,"seconds_tokens":2,"prompt_tokens_x":3}`,
	`{"prompt_tokens":1,"d":[{"cached_tokens":2},{"cached_tokens":3}],"reasoning_tokens":{"reasoning_tokens":4}}`,
	`{"prompt_tokens":1,"d":{"e":{"f":{"total_tokens":5}}}}`,
	`{"prompt_tokens":1}   `,
	`{"prompt_tokens":1}{"prompt_tokens":2}`,
	`{"prompt_tokens":1,}`,
	`{"prompt_tokens":1`,
	`{"prompt_tokens":`,
	`{"prompt_tokens"`,
	`{"prompt_tokens":1,"s":"\x"}`,
	"{\"prompt_tokens\":1,\"s\":\"\x01\"}",
	`{"prompt_tokens":01}`,
	`{"prompt_tokens":1,"completion_tokens":tru}`,
	`{}`,
	`{`,
	` {"prompt_tokens":1}`,
	`[{"prompt_tokens":1}]`,
	`"prompt_tokens":1`,
	`null`,
	``,
	strings.Repeat(`{"a":`, maxJSONDepth) + `{"prompt_tokens":1}` + strings.Repeat(`}`, maxJSONDepth),
	strings.Repeat(`{"a":`, maxJSONDepth-1) + `{"prompt_tokens":1}` + strings.Repeat(`}`, maxJSONDepth-1),
}

// BenchmarkParseUsage reads the usage objects the upstreams send.
func BenchmarkParseUsage(b *testing.B) {
	for _, o := range usageObjects {
		b.Run(o.name, func(b *testing.B) {
			obj := []byte(o.obj)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := parseUsage(obj); !ok {
					b.Fatal("no usage")
				}
			}
		})
	}
}

// TestParseUsageAllocs: the usage is read in place, where the scan's
// note of the keys it finds stays on the stack.
func TestParseUsageAllocs(t *testing.T) {
	for _, o := range usageObjects {
		obj := []byte(o.obj)
		if got := testing.AllocsPerRun(100, func() { parseUsage(obj) }); got != 0 {
			t.Errorf("parseUsage(%s): %v allocations, want 0", o.name, got)
		}
	}
}

// TestParseUsageMatchesBefore runs parseUsage and parseUsageBefore over
// the objects the upstreams send and the tricky ones, and each of their
// prefixes.
func TestParseUsageMatchesBefore(t *testing.T) {
	var objs []string
	for _, o := range usageObjects {
		objs = append(objs, o.obj)
	}
	objs = append(objs, usageTricky...)
	for _, obj := range objs {
		for n := range len(obj) + 1 {
			compareParseUsage(t, []byte(obj[:n]))
		}
	}
}

// FuzzParseUsage holds parseUsage to parseUsageBefore for any bytes.
func FuzzParseUsage(f *testing.F) {
	for _, o := range usageObjects {
		f.Add([]byte(o.obj))
	}
	for _, obj := range usageTricky {
		f.Add([]byte(obj))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compareParseUsage(t, b)
	})
}

func compareParseUsage(t *testing.T, b []byte) {
	t.Helper()
	got, gotOK := parseUsage(b)
	want, wantOK := parseUsageBefore(b)
	if got != want || gotOK != wantOK {
		t.Errorf("parseUsage(%q) = %+v, %v; parseUsageBefore %+v, %v", b, got, gotOK, want, wantOK)
	}
}

// parseUsageBefore is parseUsage as it was before it found its keys in
// the scan that checks the syntax: the scan, then a search over the
// object for each key. It is the reference FuzzParseUsage holds
// parseUsage to.
func parseUsageBefore(b []byte) (tokens, bool) {
	s := scanner{b: b}
	if len(b) == 0 || b[0] != '{' || s.value(1) != nil {
		return tokens{}, false
	}
	obj := b[:s.i]
	var u tokens
	var ok bool
	if u.Prompt, ok = intFieldBefore(obj, `"prompt_tokens":`); ok {
		u.Completion, _ = intFieldBefore(obj, `"completion_tokens":`)
	} else if u.Prompt, ok = intFieldBefore(obj, `"input_tokens":`); ok {
		u.Completion, _ = intFieldBefore(obj, `"output_tokens":`)
	} else if u.Seconds, ok = floatFieldBefore(obj, `"seconds":`); ok {
		return u, true
	} else {
		return tokens{}, false
	}
	u.Cached, _ = intFieldBefore(obj, `"cached_tokens":`)
	u.Reasoning, _ = intFieldBefore(obj, `"reasoning_tokens":`)
	u.Total, _ = intFieldBefore(obj, `"total_tokens":`)
	if u.Total == 0 {
		u.Total = u.Prompt + u.Completion
	}
	return u, true
}

func intFieldBefore(obj []byte, key string) (int, bool) {
	i := indexKeyBefore(obj, []byte(key))
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	for j < len(obj) && (obj[j] == ' ' || obj[j] == '\t' || obj[j] == '\n' || obj[j] == '\r') {
		j++
	}
	n, k := 0, j
	for k < len(obj) && obj[k] >= '0' && obj[k] <= '9' && k-j < 18 {
		n = n*10 + int(obj[k]-'0')
		k++
	}
	return n, k > j
}

func floatFieldBefore(obj []byte, key string) (float64, bool) {
	i := indexKeyBefore(obj, []byte(key))
	if i < 0 {
		return 0, false
	}
	s := scanner{b: obj, i: i + len(key)}
	s.ws()
	start := s.i
	if s.i >= len(obj) || (obj[s.i] != '-' && (obj[s.i] < '0' || obj[s.i] > '9')) || s.number() != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(obj[start:s.i]), 64)
	return f, err == nil && f >= 0
}

// FuzzLastIndex: lastIndex finds what bytes.LastIndex finds, for the
// pattern the meter looks for and others.
func FuzzLastIndex(f *testing.F) {
	for _, o := range usageObjects {
		f.Add([]byte(`{"usage":`+o.obj+`}`), []byte(`"usage":{`))
	}
	f.Add([]byte(`{"usage":{"x":{"usage":{}}}}`), []byte(`"usage":{`))
	f.Add([]byte(`aaaa`), []byte(`aa`))
	f.Fuzz(func(t *testing.T, b, pattern []byte) {
		if len(pattern) == 0 {
			return
		}
		if got, want := lastIndex(b, pattern), bytes.LastIndex(b, pattern); got != want {
			t.Errorf("lastIndex(%q, %q) = %d, want %d", b, pattern, got, want)
		}
	})
}
