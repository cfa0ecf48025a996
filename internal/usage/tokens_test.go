package usage

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// Sources of the expected counts below:
//
//   - [cookbook]: OpenAI's cookbook, "How to count tokens with tiktoken"
//     (github.com/openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb,
//     the version covering o200k_base and gpt-4o). Its outputs: "tiktoken is
//     great!" is 6 tokens in cl100k_base and in o200k_base;
//     "antidisestablishmentarianism" 6 and 6; "2 + 2 = 4" 7 and 7;
//     "お誕生日おめでとう" 9 and 8. Its example_messages are "129 prompt
//     tokens counted by the OpenAI API" for gpt-3.5-turbo, gpt-4-0613 and
//     gpt-4, and 124 for gpt-4o and gpt-4o-mini; the same two-message chat
//     with its get_current_weather tool is 105 for gpt-3.5-turbo and gpt-4,
//     101 for gpt-4o and gpt-4o-mini.
//   - [tiktoken]: tiktoken's own tests (github.com/openai/tiktoken,
//     tests/test_encoding.py), cl100k_base: "hello world" is [15339, 1917],
//     "rer" [38149], "'rer" [2351, 81], "today\n " [31213, 198, 220],
//     "today\n \n" [31213, 27907], "today\n  \n" [31213, 14211], "👍"
//     [9468, 239, 235], " \x850" [220, 126, 227, 15].
//   - [tiktoken-go]: tiktoken-go's tests (github.com/pkoukk/tiktoken-go,
//     tiktoken_test.go, tokens "converted from the original python code"),
//     cl100k_base: "hello world!你好，世界！" is [15339, 1917, 0, 57668,
//     53901, 3922, 3574, 244, 98220, 6447].
//   - [computed]: o200k_base counts not published for these strings,
//     computed with this package and consistent with the [cookbook] ones.

func TestCountTokens(t *testing.T) {
	tests := []struct {
		model, text string
		want        int
	}{
		// cl100k_base
		{"gpt-4", "tiktoken is great!", 6},           // [cookbook]
		{"gpt-4", "antidisestablishmentarianism", 6}, // [cookbook]
		{"gpt-4", "2 + 2 = 4", 7},                    // [cookbook]
		{"gpt-4", "お誕生日おめでとう", 9},                    // [cookbook]
		{"gpt-4", "hello world", 2},                  // [tiktoken]
		{"gpt-4", "rer", 1},                          // [tiktoken]
		{"gpt-4", "'rer", 2},                         // [tiktoken]
		{"gpt-4", "today\n ", 3},                     // [tiktoken]
		{"gpt-4", "today\n \n", 2},                   // [tiktoken]
		{"gpt-4", "today\n  \n", 2},                  // [tiktoken]
		{"gpt-4", "👍", 3},                            // [tiktoken]
		{"gpt-4", " \u00850", 4},                     // [tiktoken]
		{"gpt-4", "hello world!你好，世界！", 10},          // [tiktoken-go]
		{"gpt-4", "", 0},
		// o200k_base
		{"gpt-4o", "tiktoken is great!", 6},           // [cookbook]
		{"gpt-4o", "antidisestablishmentarianism", 6}, // [cookbook]
		{"gpt-4o", "2 + 2 = 4", 7},                    // [cookbook]
		{"gpt-4o", "お誕生日おめでとう", 8},                    // [cookbook]
		{"gpt-4o", "hello world", 2},                  // [computed]
		{"gpt-4o", "hello world!你好，世界！", 7},           // [computed]
		{"gpt-4o", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.text, func(t *testing.T) {
			if got := CountTokens(tt.model, tt.text); got != tt.want {
				t.Errorf("CountTokens(%q, %q) = %d, want %d", tt.model, tt.text, got, tt.want)
			}
		})
	}
}

// The encoding follows the model: "お誕生日おめでとう" is 9 tokens in
// cl100k_base and 8 in o200k_base [cookbook].
func TestCountTokensEncodingForModel(t *testing.T) {
	const text = "お誕生日おめでとう"
	const cl100k, o200k = 9, 8
	tests := []struct {
		model string
		want  int
	}{
		{"gpt-4", cl100k},
		{"GPT-4", cl100k},
		{"gpt-4-0613", cl100k},
		{"gpt-4-32k", cl100k},
		{"gpt-4-turbo-2024-04-09", cl100k},
		{"gpt-3.5-turbo", cl100k},
		{"gpt-3.5-turbo-instruct", cl100k},
		{"gpt-35-turbo", cl100k},
		{"gpt-35-turbo-0125", cl100k},
		{"azure/gpt-35-turbo-16k", cl100k},
		{"text-embedding-ada-002", cl100k},
		{"text-embedding-3-small", cl100k},
		{"openai/text-embedding-3-large", cl100k},
		{"davinci-002", cl100k},
		{"gpt-4o", o200k},
		{"gpt-4o-2024-08-06", o200k},
		{"gpt-4o-mini", o200k},
		{"azure/gpt-4o", o200k},
		{"gpt-4.1", o200k},
		{"gpt-4.1-nano-2025-04-14", o200k},
		{"o1", o200k},
		{"o1-mini", o200k},
		{"o3-mini", o200k},
		{"o4-mini", o200k},
		{"gpt-5", o200k},
		{"my-finetune", o200k},
		{"", o200k},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			if got := CountTokens(tt.model, text); got != tt.want {
				t.Errorf("CountTokens(%q, %q) = %d, want %d", tt.model, text, got, tt.want)
			}
		})
	}
}

// cookbookMessages is example_messages of [cookbook].
const cookbookMessages = `[
	{"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
	{"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
	{"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
	{"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
	{"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
	{"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
]`

// cookbookToolMessages and cookbookTools are the tools example of
// [cookbook].
const (
	cookbookToolMessages = `[
		{"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
		{"role": "user", "content": "What's the weather like in San Francisco?"}
	]`
	cookbookTools = `[{
		"type": "function",
		"function": {
			"name": "get_current_weather",
			"description": "Get the current weather in a given location",
			"parameters": {
				"type": "object",
				"properties": {
					"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
					"unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}
				},
				"required": ["location"]
			}
		}
	}]`
)

// partsBody rewrites every string content of a chat body as an array of
// one text part.
func partsBody(t testing.TB, messages string) string {
	t.Helper()
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(messages), &msgs); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		m["content"] = []any{map[string]any{"type": "text", "text": m["content"]}}
	}
	b, err := json.Marshal(map[string]any{"model": "m", "messages": msgs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEstimatePromptTokens(t *testing.T) {
	chat := `{"model": "x", "messages": ` + cookbookMessages + `}`
	parts := partsBody(t, cookbookMessages)
	tools := `{"model": "x", "messages": ` + cookbookToolMessages + `, "tools": ` + cookbookTools + `}`
	// The same function in the older "functions" list.
	functions := `{"messages": ` + cookbookToolMessages + `, "functions": [{
		"name": "get_current_weather",
		"description": "Get the current weather in a given location",
		"parameters": {"type": "object", "properties": {
			"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
			"unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}
		}}
	}]}`
	// hello world is 2 tokens in both encodings, user 1 [computed]:
	// 3 + 1 + 2 per message, + 3 for the reply.
	image := `{"messages": [{"role": "user", "content": [
		{"type": "text", "text": "hello world"},
		{"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
		{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
	]}]}`

	tests := []struct {
		name, model, body string
		want              int
	}{
		// [cookbook] example_messages: 129 in cl100k_base, 124 in o200k_base.
		{"cookbook gpt-3.5-turbo", "gpt-3.5-turbo", chat, 129},
		{"cookbook gpt-35-turbo", "gpt-35-turbo-0125", chat, 129},
		{"cookbook gpt-4", "gpt-4", chat, 129},
		{"cookbook gpt-4-0613", "gpt-4-0613", chat, 129},
		{"cookbook gpt-4o", "gpt-4o", chat, 124},
		{"cookbook gpt-4o-mini", "gpt-4o-mini", chat, 124},
		{"cookbook gpt-4o dated", "gpt-4o-2024-08-06", chat, 124},
		// Text parts count as the string they hold.
		{"parts gpt-4", "gpt-4", parts, 129},
		{"parts gpt-4o", "gpt-4o", parts, 124},
		// [cookbook] tools: 105 in cl100k_base, 101 in o200k_base.
		{"tools gpt-3.5-turbo", "gpt-3.5-turbo", tools, 105},
		{"tools gpt-4", "gpt-4", tools, 105},
		{"tools gpt-4o", "gpt-4o", tools, 101},
		{"tools gpt-4o-mini", "gpt-4o-mini", tools, 101},
		{"functions gpt-4o", "gpt-4o", functions, 101},
		// Images: a flat 85 each.
		{"image parts", "gpt-4o", image, 3 + 1 + 2 + 85 + 85 + 3},
		// A name: its tokens and 1 more.
		{"name", "gpt-4o", `{"messages": [{"role": "user", "name": "bob", "content": "hello world"}]}`, 3 + 1 + (1 + 1) + 2 + 3},
		// Null content and tool calls: function name and arguments.
		{"tool calls", "gpt-4o", `{"messages": [
			{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "hello", "arguments": "world"}}]},
			{"role": "tool", "tool_call_id": "c1", "content": "hello world"}
		]}`, (3 + CountTokens("gpt-4o", "assistant") + CountTokens("gpt-4o", "hello") + CountTokens("gpt-4o", "world")) +
			(3 + CountTokens("gpt-4o", "tool") + 2) + 3},
		{"no messages", "gpt-4o", `{"messages": []}`, 3},
		// Completions: a prompt string, strings, token ids.
		{"prompt string", "gpt-3.5-turbo-instruct", `{"prompt": "tiktoken is great!"}`, 6},
		{"prompt strings", "gpt-35-turbo-instruct", `{"prompt": ["tiktoken is great!", "hello world"]}`, 8},
		{"prompt ids", "gpt-3.5-turbo-instruct", `{"prompt": [1, 2, 3]}`, 3},
		{"prompt id arrays", "gpt-3.5-turbo-instruct", `{"prompt": [[1, 2], [3], []]}`, 3},
		// Embeddings: the same shapes in "input".
		{"input string", "text-embedding-3-small", `{"model": "text-embedding-3-small", "input": "hello world"}`, 2},
		{"input strings", "text-embedding-ada-002", `{"input": ["お誕生日おめでとう", "2 + 2 = 4"]}`, 9 + 7},
		{"input ids", "text-embedding-3-large", `{"input": [15339, 1917]}`, 2},
		{"input id arrays", "text-embedding-3-large", `{"input": [[15339, 1917], [15339]]}`, 3},
		{"input other", "text-embedding-3-large", `{"input": {"x": 1}}`, 0},
		// Responses API: a string input, instructions, message items with
		// string or input_text content, images, function call outputs.
		{"responses string", "gpt-4o", `{"model": "gpt-4o", "input": "hello world"}`, 2},
		{"responses instructions", "gpt-4o", `{"instructions": "hello world", "input": "hello world"}`, 4},
		{"responses messages", "gpt-4o", `{"input": [
			{"role": "user", "content": "hello world"},
			{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello world"}, {"type": "input_image", "image_url": "https://example.com/a.png"}]}
		]}`, (3 + 1 + 2) + (3 + 1 + 2 + 85)},
		{"responses function output", "gpt-4o", `{"input": [{"type": "function_call_output", "call_id": "c1", "output": "hello world"}]}`, 3 + 2},
		{"responses item content number", "gpt-4o", `{"input": [{"role": "user", "content": 5}]}`, 0},
		// Special tokens in client text are plain text, never an error.
		{"special token text", "gpt-4", `{"prompt": "<|endoftext|>"}`, CountTokens("gpt-4", "<|endoftext|>")},
		// Malformed bodies count nothing.
		{"empty", "gpt-4o", ``, 0},
		{"not json", "gpt-4o", `hello`, 0},
		{"truncated", "gpt-4o", `{"messages": [{"role": "user", "content": "hel`, 0},
		{"array", "gpt-4o", `[]`, 0},
		{"null", "gpt-4o", `null`, 0},
		{"empty object", "gpt-4o", `{}`, 0},
		{"messages not array", "gpt-4o", `{"messages": "hello"}`, 0},
		{"role not string", "gpt-4o", `{"messages": [{"role": 1, "content": "hello"}]}`, 0},
		{"content number", "gpt-4o", `{"messages": [{"role": "user", "content": 5}]}`, 0},
		{"content object", "gpt-4o", `{"messages": [{"role": "user", "content": {"text": "hello"}}]}`, 0},
		{"part text number", "gpt-4o", `{"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}`, 0},
		// A tool schema this does not read is skipped, not an error.
		{"odd tools", "gpt-4o", `{"messages": [], "tools": [5, {"type": "function", "function": {"name": 7}}]}`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EstimatePromptTokens(tt.model, []byte(tt.body)); got != tt.want {
				t.Errorf("EstimatePromptTokens(%q, %s) = %d, want %d", tt.model, tt.body, got, tt.want)
			}
		})
	}
}

// A tool parameter's type may be an array and its enum may hold numbers;
// they count as their JSON text.
func TestEstimatePromptTokensToolSchemas(t *testing.T) {
	body := `{"messages": [], "tools": [{"type": "function", "function": {
		"name": "f", "description": "d.",
		"parameters": {"type": "object", "properties": {
			"n": {"type": ["integer", "null"], "enum": [1, 2]}
		}}
	}}]}`
	c := func(s string) int { return CountTokens("gpt-4o", s) }
	want := 3 + // reply
		12 + // end of the functions
		7 + c("f:d") + // the function
		3 + 3 + // its properties, one property
		-3 + (3 + c("1")) + (3 + c("2")) + // the enum
		c(`n:["integer", "null"]:`)
	if got := EstimatePromptTokens("gpt-4o", []byte(body)); got != want {
		t.Errorf("EstimatePromptTokens = %d, want %d", got, want)
	}
}

// randomText returns about n bytes of varied text: words of letters with
// accents and apostrophes, numbers, punctuation, spaces, newlines,
// indentation and CJK, with no stretch of more than a few dozen bytes
// between the points where the tokenizer splits.
func randomText(r *rand.Rand, n int) string {
	pieces := []string{
		"the", "Quick", "brown", "fox's", "don't", "naïve", "cafe\u0301", "über",
		"12345", "3.14", "v2", "x", "HTTP", "camelCase", "snake_case",
		"お誕生日", "你好", "世界", "Привет", "مرحبا",
		".", ",", "!", "?!", "...", "(", ")", "{", "}", "=>", "//", "'", "\"", "-", "—", "…",
		" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "    ", "👍",
	}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// Cutting at split points changes nothing: text of many chunks counts as
// it does when tokenized whole.
func TestCountTokensChunksExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, enc := range []*encoding{cl100k, o200k} {
		for i := range 2 {
			text := randomText(r, 3*maxChunk+i*1000)
			want := len(enc.get().EncodeOrdinary(text))
			if got := enc.count(text); got != want {
				t.Errorf("%s: count of %d bytes = %d, want %d (tokenized whole)", enc.name, len(text), got, want)
			}
		}
	}
}

// A long stretch without split points is cut hard, which may change a few
// tokens, but the count stays close and is quick: tokenized whole, 64 KiB of
// one letter takes seconds, 8 MiB (a request body at the default limit)
// would take a day.
func TestCountTokensLongRuns(t *testing.T) {
	for _, enc := range []*encoding{cl100k, o200k} {
		for _, c := range []string{"a", " ", "\n", "=", "0", "お", "é"} {
			// Close to the whole count on a size still quick to tokenize
			// whole.
			text := strings.Repeat(c, 4<<10)
			whole := len(enc.get().EncodeOrdinary(text))
			got := enc.count(text)
			if d := got - whole; d < 0 || d > whole/10+2 {
				t.Errorf("%s: count of %q x 4096 = %d, want about %d (tokenized whole)", enc.name, c, got, whole)
			}
			// And done in reasonable time on a large one.
			big := strings.Repeat(c, 64<<10)
			if got := enc.count(big); got <= 0 || got > len(big) {
				t.Errorf("%s: count of %q x 64 KiB = %d", enc.name, c, got)
			}
		}
	}
}

// Every split point is exact: the two sides, tokenized apart, make the
// tokens of the whole.
func FuzzTokensSplitPoints(f *testing.F) {
	for _, s := range []string{
		"hello world", "don't stop", "it's 3.14!", "naïve cafe\u0301s", "foo\n\nbar",
		"a  b", "x'y", "1/2", "お誕生日、おめでとう。", "today\n  \n", "<|endoftext|>x",
		"a\u00a0 b", "a\u3000b", "a\xffb", "hello world!你好，世界！",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			return // the byte-pair merge is quadratic: keep each run quick
		}
		for _, enc := range []*encoding{cl100k, o200k} {
			tk := enc.get()
			whole := len(tk.EncodeOrdinary(s))
			var prev rune
			for i, r := range s {
				if i > 0 && isSplit(prev, r) {
					if got := len(tk.EncodeOrdinary(s[:i])) + len(tk.EncodeOrdinary(s[i:])); got != whole {
						t.Fatalf("%s: %q split at %d (%q|%q) counts %d, whole %d", enc.name, s, i, s[:i], s[i:], got, whole)
					}
				}
				prev = r
			}
		}
	})
}

// nextCut always makes progress and stays within the bounds.
func TestTokensNextCut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	texts := []string{
		"", "a", strings.Repeat("a", maxRun), strings.Repeat("a", maxRun+1),
		strings.Repeat("é", 1000), strings.Repeat("\xff", 1000), strings.Repeat("ab ", 20000),
		"word " + strings.Repeat("x", 1000), randomText(r, 100_000),
	}
	for _, text := range texts {
		for s := text; s != ""; {
			cut := nextCut(s)
			if cut <= 0 || cut > len(s) {
				t.Fatalf("nextCut(%.20q...) = %d for %d bytes", s, cut, len(s))
			}
			if cut > maxChunk+utf8.UTFMax {
				t.Fatalf("nextCut(%.20q...) = %d, more than maxChunk", s, cut)
			}
			if cut < len(s) && !utf8.RuneStart(s[cut]) {
				t.Fatalf("nextCut(%.20q...) = %d, inside a rune", s, cut)
			}
			s = s[cut:]
		}
	}
}

// Counting is safe for concurrent use, loading included: fresh encodings
// are loaded by many goroutines at once (run with -race).
func TestTokensConcurrent(t *testing.T) {
	fresh := []*encoding{
		{name: cl100k.name, funcInit: cl100k.funcInit},
		{name: o200k.name, funcInit: o200k.funcInit},
	}
	want := []int{9, 8} // "お誕生日おめでとう" [cookbook]
	chat := []byte(`{"messages": ` + cookbookMessages + `}`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				k := (g + i) % 2
				if got := fresh[k].count("お誕生日おめでとう"); got != want[k] {
					errs <- fmt.Errorf("%s: count = %d, want %d", fresh[k].name, got, want[k])
					return
				}
				model, wantChat := "gpt-4", 129
				if k == 1 {
					model, wantChat = "gpt-4o", 124
				}
				if got := EstimatePromptTokens(model, chat); got != wantChat {
					errs <- fmt.Errorf("EstimatePromptTokens(%s) = %d, want %d", model, got, wantChat)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzEstimatePromptTokens(f *testing.F) {
	for _, body := range []string{
		`{"messages": ` + cookbookMessages + `}`,
		`{"messages": ` + cookbookToolMessages + `, "tools": ` + cookbookTools + `}`,
		`{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}`,
		`{"messages": [{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}]}`,
		`{"prompt": ["a", "b"]}`, `{"prompt": [[1, 2], [3]]}`, `{"input": [1, 2, 3]}`, `{"input": "x"}`,
		`{"messages": [{"role": "user", "content": 5}]}`, `{"tools": [{"function": {"parameters": {"properties": {"a": {"enum": [null]}}}}}], "messages": []}`,
		`{"instructions": "be brief", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "x"}]}]}`,
		`{"input": [{"type": "function_call_output", "call_id": "c", "output": "{}"}, {"role": "assistant", "content": null}]}`,
		`{"input": [{"role": 5}], "instructions": ["a"]}`,
		``, `{`, `null`, `"x"`,
	} {
		f.Add("gpt-4o", []byte(body))
		f.Add("gpt-35-turbo", []byte(body))
	}
	f.Fuzz(func(t *testing.T, model string, body []byte) {
		if len(body) > 4096 {
			return
		}
		if n := EstimatePromptTokens(model, body); n < 0 {
			t.Fatalf("EstimatePromptTokens(%q, %q) = %d, negative", model, body, n)
		}
	})
}

// A typical chat request: a system prompt and a user question.
var benchBody = []byte(`{"model": "gpt-4o", "messages": [
	{"role": "system", "content": "You are a helpful assistant. Answer concisely and cite your sources when you can."},
	{"role": "user", "content": "What is the difference between a process and a thread in an operating system? Give an example of when to use each."}
], "temperature": 0.2, "stream": true}`)

func BenchmarkEstimatePromptTokens(b *testing.B) {
	for _, model := range []string{"gpt-4o", "gpt-35-turbo"} {
		b.Run(model, func(b *testing.B) {
			EstimatePromptTokens(model, benchBody) // load the encoding
			b.ReportAllocs()
			for b.Loop() {
				EstimatePromptTokens(model, benchBody)
			}
		})
	}
}

func BenchmarkCountTokens(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	texts := []struct{ name, text string }{
		{"prose-64KiB", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 64<<10/45)},
		{"mixed-64KiB", randomText(r, 64<<10)},
		{"one-letter-1MiB", strings.Repeat("a", 1<<20)},
	}
	for _, tt := range texts {
		b.Run(tt.name, func(b *testing.B) {
			CountTokens("gpt-4o", "x") // load the encoding
			b.ReportAllocs()
			b.SetBytes(int64(len(tt.text)))
			for b.Loop() {
				CountTokens("gpt-4o", tt.text)
			}
		})
	}
}

func TestEstimatesAreBoundedForHugeInputs(t *testing.T) {
	huge := strings.Repeat("a", MaxTokenizedBytes+4)
	if got, want := CountTokens("gpt-4o", huge), (MaxTokenizedBytes+4)/4; got != want {
		t.Errorf("CountTokens(huge) = %d, want the %d of four bytes a token", got, want)
	}
	body := []byte(`{"messages":[{"role":"user","content":"` + huge + `"}]}`)
	if got, want := EstimatePromptTokens("gpt-4o", body), len(body)/4; got != want {
		t.Errorf("EstimatePromptTokens(huge) = %d, want %d", got, want)
	}
}

// A longer chat request, about 2 KiB: a system prompt, a few turns, code.
var benchChat2KiB = []byte(`{"model": "gpt-4o", "stream": true, "messages": [
	{"role": "system", "content": "You are a careful senior engineer reviewing Go code for a team that runs an LLM gateway in production. Point out bugs first, then performance problems, then style. Quote the line you mean. Keep each point short, and say when you are unsure."},
	{"role": "user", "content": "Can you review this function? It is called for every request.\n\nfunc (p *Pool) Pick(now time.Time) (*Deployment, error) {\n\tfor i := 0; i < len(p.deps); i++ {\n\t\td := p.deps[(p.next+i)%len(p.deps)]\n\t\tif d.cooldownUntil.After(now) {\n\t\t\tcontinue\n\t\t}\n\t\tp.next = (p.next + i + 1) % len(p.deps)\n\t\treturn d, nil\n\t}\n\treturn nil, ErrAllCoolingDown\n}"},
	{"role": "assistant", "content": "Three things stand out. First, p.next is written without synchronization, so two requests picking at once race on it; use an atomic.Uint32 and add one with Add. Second, cooldownUntil is read while another goroutine may write it after a 429, which is also a race: keep it in an atomic.Int64 of Unix nanoseconds. Third, when every deployment is cooling down the caller gets an error but no time to retry after; returning the earliest cooldown end lets the gateway send a Retry-After header."},
	{"role": "user", "content": "Thanks. If I switch to atomics, does the modulo still work when the counter wraps around at 2^32? And what would you name the error when all deployments are throttled, given that clients see it as a 429 with type rate_limit_exceeded? We also log it, and our dashboards group by the error's text, so it should read well there too."}
]}`)

func BenchmarkEstimatePromptTokensChat2KiB(b *testing.B) {
	for _, model := range []string{"gpt-4o", "gpt-35-turbo"} {
		b.Run(model, func(b *testing.B) {
			EstimatePromptTokens(model, benchChat2KiB) // load the encoding
			b.ReportAllocs()
			b.SetBytes(int64(len(benchChat2KiB)))
			for b.Loop() {
				EstimatePromptTokens(model, benchChat2KiB)
			}
		})
	}
}
