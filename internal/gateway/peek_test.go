package gateway

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPeekResponsesCap(t *testing.T) {
	tests := []struct {
		body      string
		wantMax   int64
		wantField string
		wantErr   bool
	}{
		{`{"max_output_tokens":300,"max_tokens":5}`, 300, "max_output_tokens", false},
		{`{"max_tokens":5}`, -1, "", false},
		{`{"max_output_tokens":null}`, -1, "max_output_tokens", false},
		{`{"max_output_tokens":-3}`, 0, "", true},
		{`{"max_output_tokens":"9"}`, 0, "", true},
	}
	for _, tt := range tests {
		p, err := peekCap([]byte(tt.body), true)
		if (err != nil) != tt.wantErr {
			t.Fatalf("peekCap(%s) error = %v, want error %v", tt.body, err, tt.wantErr)
		}
		if err == nil && (p.MaxTokens != tt.wantMax || p.maxField != tt.wantField) {
			t.Errorf("peekCap(%s) = %d %q, want %d %q", tt.body, p.MaxTokens, p.maxField, tt.wantMax, tt.wantField)
		}
	}
	// A cap on a Responses body without the field adds max_output_tokens.
	p, _ := peekCap([]byte(`{"model":"m","input":"hi"}`), true)
	body, p2 := withMaxTokens([]byte(`{"model":"m","input":"hi"}`), p, 64)
	if got, want := string(body), `{"max_output_tokens":64,"model":"m","input":"hi"}`; got != want {
		t.Errorf("capped body = %s, want %s", got, want)
	}
	if p2.Model != "m" || string(body[p2.modelStart:p2.modelEnd]) != `"m"` {
		t.Errorf("model span after the cap = %d:%d, want it on \"m\"", p2.modelStart, p2.modelEnd)
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   peeked
		errIs  any // *syntaxError or *fieldError
		wantOK bool
	}{
		{"chat", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":50}`,
			peeked{prevStart: -1, prevEnd: -1, Model: "gpt-4o", modelStart: 9, modelEnd: 17, Stream: true, MaxTokens: 50, maxField: "max_tokens", maxStart: 89, maxEnd: 91}, nil, true},
		{"no model", `{"messages":[]}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"escaped key and value", `{"mo\u0064el":"gpt\u002d4o"}`, peeked{prevStart: -1, prevEnd: -1, Model: "gpt-4o", modelStart: 14, modelEnd: 27, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"last duplicate wins", `{"model":"a","model":"b"}`, peeked{prevStart: -1, prevEnd: -1, Model: "b", modelStart: 21, modelEnd: 24, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"nested model ignored", `{"x":{"model":"no"},"stream":false}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"max_completion_tokens", `{"max_completion_tokens":7}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: 7, maxStart: 25, maxEnd: 26, maxField: "max_completion_tokens"}, nil, true},
		{"nulls", `{"model":null,"stream":null,"max_tokens":null}`, peeked{prevStart: -1, prevEnd: -1, modelStart: 9, modelEnd: 13, MaxTokens: -1, maxStart: 41, maxEnd: 45, maxField: "max_tokens"}, nil, true},
		{"whitespace", " \n{ \"model\" : \"m\" } \n", peeked{prevStart: -1, prevEnd: -1, Model: "m", modelStart: 14, modelEnd: 17, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"empty object", `{}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"array", `[]`, peeked{}, new(*syntaxError), false},
		{"truncated", `{"model":"gpt-4o"`, peeked{}, new(*syntaxError), false},
		{"trailing garbage", `{"model":"gpt-4o"} x`, peeked{}, new(*syntaxError), false},
		{"bad number", `{"n":01}`, peeked{}, new(*syntaxError), false},
		{"bad literal", `{"stream":tru}`, peeked{}, new(*syntaxError), false},
		{"control char", "{\"model\":\"a\x01\"}", peeked{}, new(*syntaxError), false},
		{"model number", `{"model":5}`, peeked{}, new(*fieldError), false},
		{"stream string", `{"stream":"true"}`, peeked{}, new(*fieldError), false},
		{"negative max_tokens", `{"max_tokens":-1}`, peeked{}, new(*fieldError), false},
		{"fractional max_tokens", `{"max_tokens":1.5}`, peeked{}, new(*fieldError), false},
		{"both max fields", `{"max_tokens":5,"max_completion_tokens":500}`, peeked{}, new(*fieldError), false},
		{"previous_response_id", `{"previous_response_id":"resp_1"}`, peeked{Previous: "resp_1", prevStart: 24, prevEnd: 32, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"previous_response_id null", `{"previous_response_id":null}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"previous_response_id number", `{"previous_response_id":5}`, peeked{}, new(*fieldError), false},
		{"max_output_tokens is not chat's cap", `{"max_output_tokens":5}`, peeked{prevStart: -1, prevEnd: -1, modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}, nil, true},
		{"empty", ``, peeked{}, new(*syntaxError), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := peek([]byte(tt.body))
			if tt.wantOK {
				if err != nil {
					t.Fatalf("peek(%s) error = %v, want nil", tt.body, err)
				}
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(peeked{})); diff != "" {
					t.Errorf("peek(%s) mismatch (-want +got):\n%s", tt.body, diff)
				}
				return
			}
			if err == nil || !errors.As(err, tt.errIs) {
				t.Errorf("peek(%s) error = %v, want %T", tt.body, err, tt.errIs)
			}
		})
	}
}

func TestWithModel(t *testing.T) {
	tests := []struct{ body, model, want string }{
		{`{"model":"gpt-4o","x":1}`, "gpt-4o-2024-08-06", `{"model":"gpt-4o-2024-08-06","x":1}`},
		{`{"x":1}`, "m", `{"model":"m","x":1}`},
		{`{ }`, "m", `{"model":"m" }`},
		{`{"x":1,"model":"a"}`, `q"uote`, `{"x":1,"model":"q\"uote"}`},
		{`{"model":null,"x":1}`, "m", `{"model":"m","x":1}`},
	}
	for _, tt := range tests {
		p, err := peek([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(withModel([]byte(tt.body), p, tt.model)); got != tt.want {
			t.Errorf("withModel(%s, %q) = %s, want %s", tt.body, tt.model, got, tt.want)
		}
	}
}

// FuzzPeek checks peek against encoding/json: whatever peek accepts is
// valid JSON with the same top-level fields, every valid JSON object is
// accepted unless a peeked field has the wrong type, withModel keeps
// the body valid JSON, and withMaxTokens returns the peek of its result.
func FuzzPeek(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":50}`,
		`{"mo\u0064el":"x","a":[1,2.5e3,-0.1,true,false,null,{"b":"\n"}]}`,
		`{"model":"a","model":"b"}`, `{}`, `[]`, `{"stream":null}`, `{"max_tokens":1e2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := peek(body)
		// A map, not a struct: encoding/json matches struct fields
		// case-insensitively, OpenAI's servers (and peek) do not.
		var obj map[string]json.RawMessage
		// A JSON null unmarshals into a map too, as a nil one.
		valid := json.Valid(body) && json.Unmarshal(body, &obj) == nil && obj != nil
		if err == nil {
			if !valid {
				t.Fatalf("peek accepted invalid JSON %q", body)
			}
			var model string
			if raw, ok := obj["model"]; ok && json.Unmarshal(raw, &model) == nil && model != got.Model {
				t.Errorf("model = %q, encoding/json says %q", got.Model, model)
			}
			out := withModel(body, got, "rewritten")
			var back map[string]json.RawMessage
			if err := json.Unmarshal(out, &back); err != nil || string(back["model"]) != `"rewritten"` {
				t.Errorf("withModel(%q) = %q (%v), want valid JSON with the new model", body, out, err)
			}
			capped, p := withMaxTokens(body, got, 64)
			if want, err := peek(capped); err != nil || !cmp.Equal(want, p, cmp.AllowUnexported(peeked{})) {
				t.Errorf("withMaxTokens(%q) = %q with peek %+v, want %+v (%v)", body, capped, p, want, err)
			}
			return
		}
		var fe *fieldError
		if valid && !errors.As(err, &fe) {
			t.Errorf("peek rejected valid JSON object %q: %v", body, err)
		}
	})
}

// TestWithMaxTokensPeek checks that the peek withMaxTokens returns is the
// peek of the body it returns, so admit need not scan the body again.
func TestWithMaxTokensPeek(t *testing.T) {
	tests := []struct {
		body string
		n    int64
		want string
	}{
		{`{"model":"gpt-4o","messages":[]}`, 128, `{"max_tokens":128,"model":"gpt-4o","messages":[]}`},
		{`{ }`, 7, `{"max_tokens":7 }`},
		{`{"max_tokens":4096,"model":"m"}`, 5, `{"max_tokens":5,"model":"m"}`},
		{`{"model":"m","max_tokens":null,"stream":true}`, 1000, `{"model":"m","max_tokens":1000,"stream":true}`},
		{`{"max_completion_tokens":9,"model":"m"}`, 12345, `{"max_completion_tokens":12345,"model":"m"}`},
	}
	for _, tt := range tests {
		p, err := peek([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		got, gotPeek := withMaxTokens([]byte(tt.body), p, tt.n)
		if string(got) != tt.want {
			t.Errorf("withMaxTokens(%s, %d) = %s, want %s", tt.body, tt.n, got, tt.want)
		}
		want, err := peek(got)
		if err != nil {
			t.Fatalf("peek(%s): %v", got, err)
		}
		if diff := cmp.Diff(want, gotPeek, cmp.AllowUnexported(peeked{})); diff != "" {
			t.Errorf("withMaxTokens(%s) peek mismatch (-peek of the result +returned):\n%s", tt.body, diff)
		}
	}
}

// FuzzPeekResponses: a Responses body's previous_response_id and
// max_output_tokens spans survive the splices the gateway makes (the
// upstream's id in, a cap in), so the body stays what a new peek reads.
func FuzzPeekResponses(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","input":"hi","previous_response_id":"resp_sw1","max_output_tokens":5000}`,
		`{"previous_response_id":"resp_\u0031","input":[{"role":"user","content":"x"}]}`,
		`{"max_output_tokens":null,"previous_response_id":null}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := peekCap(body, true)
		if err != nil {
			return
		}
		if p.prevStart >= 0 {
			q := []byte(`"resp_upstream"`)
			out := splice(body, p.prevStart, p.prevEnd, q)
			p = p.moved(p.prevEnd, len(out)-len(body))
			p.prevEnd = p.prevStart + len(q)
			p.Previous = "resp_upstream"
			body = out
		}
		capped, p := withMaxTokens(body, p, 64)
		want, err := peekCap(capped, true)
		if err != nil {
			t.Fatalf("the spliced body %q does not peek: %v", capped, err)
		}
		if !cmp.Equal(want, p, cmp.AllowUnexported(peeked{})) {
			t.Errorf("after the splices peek says %+v, the spans say %+v", want, p)
		}
		if want.MaxTokens != 64 || (p.prevStart >= 0 && want.Previous != "resp_upstream") {
			t.Errorf("spliced body %q reads max %d previous %q", capped, want.MaxTokens, want.Previous)
		}
	})
}
