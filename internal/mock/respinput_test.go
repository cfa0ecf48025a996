package mock

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestResponseInput(t *testing.T) {
	tests := []struct {
		name, input string
		want        []string // kind/role/text of each item
	}{
		{"string", `"hi"`, []string{"message/user/hi"}},
		{"easy message", `[{"role":"developer","content":"be kind"}]`, []string{"message/developer/be kind"}},
		{"parts", `[{"type":"message","role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"x"},{"type":"input_text","text":"b"}]}]`, []string{"message/user/a\nb"}},
		{"assistant output", `[{"role":"assistant","content":[{"type":"output_text","text":"done"},{"type":"refusal","refusal":"no"}]}]`, []string{"message/assistant/done\nno"}},
		{"tool round trip", `[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"42"}]`, []string{"function_call//{}", "function_call_output//42"}},
		{"structured tool output", `[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}]`, []string{`function_call_output//[{"type":"input_text","text":"x"}]`}},
		{"other items echoed", `[{"type":"reasoning","id":"rs_1","summary":[]}]`, []string{`reasoning//{"type":"reasoning","id":"rs_1","summary":[]}`}},
		{"null", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in responseInput
			if err := json.Unmarshal([]byte(tt.input), &in); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.input, err)
			}
			var got []string
			for _, it := range in.items {
				got = append(got, it.kind+"/"+it.role+"/"+it.text)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzResponseInput feeds arbitrary JSON to the input reader: it must
// fail or give items that render as valid JSON.
func FuzzResponseInput(f *testing.F) {
	for _, s := range []string{`"hi"`, `[{"role":"user","content":"x"}]`, `[{"type":"function_call_output","call_id":"c","output":{"a":1}}]`, `[{"role":"assistant","content":[{"type":"output_text","text":"y"}]}]`, `[{"type":"item_reference","id":"msg_1"}]`, `[7]`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var in responseInput
		if err := json.Unmarshal([]byte(s), &in); err != nil {
			return
		}
		for i := range in.items {
			it := &in.items[i]
			if it.id == "" {
				it.id = "msg_1"
			}
			if b := appendInputItem(nil, it); !json.Valid(b) {
				t.Fatalf("input %s: item %d renders as invalid JSON %s", s, i, b)
			}
		}
	})
}

// FuzzSchemaJSON feeds arbitrary schemas to the JSON generator: whatever
// it reads, it writes valid JSON.
func FuzzSchemaJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"array","items":{"type":"string"}}}}`,
		`{"enum":["x",1]}`, `{"anyOf":[{"type":"number"},{"type":"null"}]}`, `{"type":["null","boolean"]}`,
		`{"const":{"k":[1,2]}}`, `{"type":"object","properties":{"location":{"type":"string"}}}`, `[]`, `7`, `{"enum":[]}`,
	} {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, schema string, seed uint64) {
		if b := appendSchemaJSON(nil, json.RawMessage(schema), "k", seed, 0); !json.Valid(b) {
			t.Fatalf("schema %s gave invalid JSON %s", schema, b)
		}
	})
}

func TestPiecesAndCutText(t *testing.T) {
	tests := []struct {
		s          string
		wantPieces []string
		cut        int
		wantCut    string
	}{
		{"", nil, 1, ""},
		{"abcdefghij", []string{"abcd", "efgh", "ij"}, 2, "abcdefgh"},
		{"ab", []string{"ab"}, 0, ""},
		{"abcé€xyz", []string{"abcé", "€x", "yz"}, 1, "abc"},
		{"abcd", []string{"abcd"}, 1 << 62, "abcd"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.wantPieces, pieces(tt.s), cmp.Comparer(func(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") })); diff != "" {
			t.Errorf("pieces(%q) (-want +got):\n%s", tt.s, diff)
		}
		if got := cutText(tt.s, tt.cut); got != tt.wantCut || !utf8.ValidString(got) {
			t.Errorf("cutText(%q, %d) = %q, want %q", tt.s, tt.cut, got, tt.wantCut)
		}
	}
}
