package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/spillwayhq/spillway/internal/usage/bpe"
)

// The token estimator counts what a request used when the upstream did not
// say: a stream that ended without its usage chunk, an OpenAI-compatible
// server that leaves "usage" out. It tokenizes with OpenAI's own BPE
// encodings (package bpe, which embeds them in the binary: no download,
// ever, and counts exactly as tiktoken does) and adds the per-message
// overhead OpenAI's cookbook documents, so its counts match the API's for plain chat requests and are
// close otherwise. Records it produces are marked Estimated.

// Chat overhead, as counted by num_tokens_from_messages in OpenAI's cookbook
// "How to count tokens with tiktoken" (gpt-3.5-turbo-0613 and later, gpt-4,
// gpt-4o): every message is wrapped as <|start|>{role}\n{content}<|end|>\n,
// a name costs one more token, and the reply is primed with
// <|start|>assistant<|message|>.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensForReply   = 3
)

// tokensPerImage is the flat estimate for an image part: what OpenAI's
// vision guide ("Calculating costs") charges a detail:"low" image on
// gpt-4o, and the base cost of any image. The real cost of a high-detail
// image depends on its size (85 + 170 per 512px tile on gpt-4o), which the
// gateway does not fetch or decode, so such images are undercounted.
const tokensPerImage = 85

// Tool definition overhead, from the same cookbook's num_tokens_for_tools
// (checked there against the API for gpt-3.5-turbo, gpt-4, gpt-4o and
// gpt-4o-mini). The start of each function differs by encoding (see
// encoding.funcInit); the rest is shared.
const (
	toolPropsInit = 3  // a function with parameters
	toolPropKey   = 3  // each parameter
	toolEnumInit  = -3 // a parameter with an enum
	toolEnumItem  = 3  // each enum value
	toolsEnd      = 12 // once, when there is any function
)

// Bounds on one call into the tokenizer. The byte-pair merge is
// quadratic in the length of a pre-tokenized piece, so 8 MiB of one letter
// (or of spaces, or of '=') would take hours. Text is therefore cut into
// chunks of at most maxChunk bytes at points where the tokenizer would split
// anyway, which changes nothing, and a stretch with no such point is cut
// hard every maxRun bytes, which may change a token or two per cut. Real
// prose and code rarely have a 128-byte stretch without a space or a
// punctuation mark after a word.
const (
	maxChunk = 16 << 10
	maxRun   = 128
)

// encoding is one of OpenAI's BPE encodings, loaded on first use.
type encoding struct {
	name     string
	funcInit int // tokens at the start of each tool function

	once sync.Once
	tk   *bpe.Encoder // nil if the encoding failed to load
}

var (
	o200k  = &encoding{name: "o200k_base", funcInit: 7}
	cl100k = &encoding{name: "cl100k_base", funcInit: 10}
)

// get returns the encoding's tokenizer, loading it on first use (see
// LoadEncodings). The tokenizer is safe for concurrent use.
func (e *encoding) get() *bpe.Encoder {
	e.once.Do(func() {
		if tk, err := bpe.Load(e.name); err == nil {
			e.tk = tk
		}
	})
	return e.tk
}

// LoadEncodings loads the tokenizer's encodings (some 50-100 ms each; 2 MiB
// of heap for cl100k_base, 4 MiB for o200k_base, none of it scanned by the
// garbage collector), so that no request waits for them: run it in the
// background at start-up. Until it is done, a request that needs an exact
// count waits for the encoding it needs; admission never does
// (AdmissionTokens).
func LoadEncodings() {
	o200k.get()
	cl100k.get()
}

// count returns the number of tokens of text, special tokens such as
// <|endoftext|> counted as the plain text they are in a request.
func (e *encoding) count(text string) int {
	if text == "" {
		return 0
	}
	tk := e.get()
	if tk == nil {
		return approxTokens(text)
	}
	n := 0
	for text != "" {
		cut := nextCut(text)
		n += encodeChunk(tk, text[:cut])
		text = text[cut:]
	}
	return n
}

// encodeChunk counts the tokens of one chunk. The tokenizer runs on
// client input; should a bug in it ever panic, the chunk is estimated
// instead, since a usage record must never take a request down.
func encodeChunk(tk *bpe.Encoder, chunk string) (n int) {
	defer func() {
		if recover() != nil {
			n = approxTokens(chunk)
		}
	}()
	return tk.Count(chunk)
}

// approxTokens is OpenAI's rule of thumb, about four bytes of English per
// token, for when the tokenizer is unavailable.
func approxTokens(text string) int {
	return (len(text) + 3) / 4
}

// nextCut returns where the first chunk of text ends: all of text when it
// is short and has no long stretch, else a point the tokenizer splits at
// anyway (see isSplit), else a hard cut after maxRun bytes. It is always
// above zero for non-empty text.
func nextCut(text string) int {
	if len(text) <= maxRun {
		return len(text)
	}
	split := 0 // the last split point seen
	run := 0   // where the current stretch without split points starts
	var prev rune
	for i, r := range text {
		if i > 0 && isSplit(prev, r) {
			split, run = i, i
		}
		if i-run >= maxRun {
			if split > 0 {
				return split
			}
			return i
		}
		if i >= maxChunk && split > 0 {
			return split
		}
		prev = r
	}
	return len(text)
}

// isSplit reports whether the tokenizer always starts a new piece at r
// after prev, in both encodings: after a letter or digit, at anything but
// a letter, digit, combining mark or apostrophe. No pattern of cl100k_base
// or o200k_base lets a piece continue from a letter or digit into such a
// character (o200k_base attaches 's, 't, ... to the word before, hence the
// apostrophe), and the patterns have no look-behind, so tokenizing the two
// sides separately gives exactly the tokens of the whole.
func isSplit(prev, r rune) bool {
	if !unicode.IsLetter(prev) && !unicode.IsNumber(prev) {
		return false
	}
	return r != '\'' && r != utf8.RuneError && !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
}

// encodingFor picks the encoding of model, an OpenAI or Azure name: the
// names tiktoken maps to cl100k_base (gpt-4 and its snapshots, gpt-4-turbo,
// gpt-3.5-turbo, Azure's gpt-35-turbo, text-embedding-*, davinci-002,
// babbage-002) get it; everything else, gpt-4o, gpt-4.1, o1, o3, o4-mini
// and any model newer or unknown, gets o200k_base.
func encodingFor(model string) *encoding {
	name := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case name == "gpt-4", strings.HasPrefix(name, "gpt-4-"),
		strings.HasPrefix(name, "gpt-3.5"), strings.HasPrefix(name, "gpt-35"),
		strings.HasPrefix(name, "text-embedding-"),
		name == "davinci-002", name == "babbage-002":
		return cl100k
	}
	return o200k
}

// CountTokens counts the tokens of plain text in the encoding of model, for
// instance the completion text accumulated from a stream. It adds no
// overhead of any kind.
func CountTokens(model, text string) int {
	if len(text) > MaxTokenizedBytes {
		return len(text) / 4
	}
	return encodingFor(model).count(text)
}

// MaxTokenizedBytes bounds what the tokenizer reads for one estimate: past
// it, four bytes to a token is close enough, and an 8 MiB body cannot cost
// seconds of CPU.
const MaxTokenizedBytes = 256 << 10

// EstimatePromptTokens counts the prompt tokens of an OpenAI request body,
// in the encoding of model (see CountTokens):
//
//   - chat (a "messages" array): each message's role, name and content,
//     plus 3 tokens per message, 1 per name and 3 for priming the reply, as
//     OpenAI's cookbook counts them. Content may be a string or an array of
//     parts: text and refusal parts are tokenized, each image part counts a
//     flat 85 tokens (a low-detail image). Assistant tool calls count their
//     function names and arguments; "tools" (and the older "functions") count
//     as the cookbook's num_tokens_for_tools does.
//   - completions ("prompt") and embeddings ("input"): a string, an array of
//     strings, an array of token ids or an array of such arrays, whose
//     lengths are counted as they are.
//
// Fields it does not know (audio, files, response_format, ...) count
// nothing. A body that is not a JSON object of that shape counts 0; it
// never panics.
func EstimatePromptTokens(model string, body []byte) int {
	if len(body) > MaxTokenizedBytes {
		return len(body) / 4
	}
	var req requestBody
	if err := json.Unmarshal(body, &req); err != nil {
		return 0
	}
	enc := encodingFor(model)
	n := 0
	if req.Messages != nil {
		for _, m := range req.Messages {
			n += tokensPerMessage + enc.count(m.Role)
			if m.Name != "" {
				n += enc.count(m.Name) + tokensPerName
			}
			n += m.Content.tokens(enc)
			for _, c := range m.ToolCalls {
				n += enc.count(c.Function.Name) + enc.count(c.Function.Arguments)
			}
			if c := m.FunctionCall; c != nil {
				n += enc.count(c.Name) + enc.count(c.Arguments)
			}
		}
		n += tokensForReply
		n += toolTokens(enc, req.Tools, req.Functions)
	}
	n += req.Prompt.tokens(enc) + req.Input.tokens(enc) + req.Instructions.tokens(enc)
	return n
}

// requestBody is what the estimate reads of a chat, completions or
// embeddings request.
type requestBody struct {
	Messages []message `json:"messages"`
	Prompt   textInput `json:"prompt"`
	Input    textInput `json:"input"`
	// Instructions is the Responses API's system message.
	Instructions textInput       `json:"instructions"`
	Tools        json.RawMessage `json:"tools"`
	Functions    json.RawMessage `json:"functions"`
}

// message is one chat message.
type message struct {
	Role         string        `json:"role"`
	Name         string        `json:"name"`
	Content      content       `json:"content"`
	ToolCalls    []toolCall    `json:"tool_calls"`
	FunctionCall *functionCall `json:"function_call"`
}

// toolCall is a tool call of an assistant message.
type toolCall struct {
	Function functionCall `json:"function"`
}

// functionCall is the function an assistant message called.
type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// content is a message's content: a string, an array of parts, or null.
type content struct {
	text   string
	parts  []contentPart
	isText bool
}

// contentPart is one part of an array content.
type contentPart struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Refusal string `json:"refusal"`
}

// UnmarshalJSON reads a string, an array of parts or null; anything else
// is malformed.
func (c *content) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		c.isText = true
		return json.Unmarshal(data, &c.text)
	case '[':
		return json.Unmarshal(data, &c.parts)
	case 'n':
		return nil
	}
	return errContent
}

// errContent reports a message content that is neither a string, an
// array nor null.
var errContent = errors.New("message content must be a string, an array or null")

// tokens counts the content's text and images.
func (c *content) tokens(enc *encoding) int {
	if c.isText {
		return enc.count(c.text)
	}
	n := 0
	for _, p := range c.parts {
		switch p.Type {
		case "text", "input_text", "output_text":
			n += enc.count(p.Text)
		case "refusal":
			n += enc.count(p.Refusal)
		case "image_url", "input_image":
			n += tokensPerImage
		}
	}
	return n
}

// textInput is a completions prompt or an embeddings input: a string, an
// array of strings, an array of token ids, or an array of arrays of token
// ids; or the Responses API's input, an array of items (messages with
// string or part content, function calls and their outputs). Other shapes
// count nothing.
type textInput struct {
	texts []string
	ids   int // token ids, counted as they are
	items []inputItem
}

// inputItem is one item of a Responses API input.
type inputItem struct {
	Role      string  `json:"role"`
	Content   content `json:"content"`
	Name      string  `json:"name"`
	Arguments string  `json:"arguments"`
	Output    string  `json:"output"`
}

// UnmarshalJSON reads any JSON value, keeping the strings and counting the
// token ids it holds in one of the shapes above.
func (t *textInput) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		t.texts = append(t.texts, s)
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return err
		}
		for _, it := range items {
			switch {
			case it[0] == '"':
				var s string
				if err := json.Unmarshal(it, &s); err != nil {
					return err
				}
				t.texts = append(t.texts, s)
			case it[0] == '-' || it[0] >= '0' && it[0] <= '9':
				t.ids++
			case it[0] == '[':
				var ids []json.RawMessage
				if err := json.Unmarshal(it, &ids); err != nil {
					return err
				}
				t.ids += len(ids)
			case it[0] == '{':
				var item inputItem
				if err := json.Unmarshal(it, &item); err != nil {
					return err
				}
				t.items = append(t.items, item)
			}
		}
	}
	return nil
}

// tokens counts the input's strings and token ids.
func (t *textInput) tokens(enc *encoding) int {
	n := t.ids
	for _, s := range t.texts {
		n += enc.count(s)
	}
	for _, it := range t.items {
		n += tokensPerMessage + enc.count(it.Role) + it.Content.tokens(enc)
		n += enc.count(it.Name) + enc.count(it.Arguments) + enc.count(it.Output)
	}
	return n
}

// functionDef is a function offered to the model, as a tool or in the
// older "functions" list.
type functionDef struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  struct {
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"parameters"`
}

// propertyDef is one parameter of a function. Type and enum values are
// raw: JSON Schema allows ["string", "null"] and enums of numbers.
type propertyDef struct {
	Type        json.RawMessage   `json:"type"`
	Description string            `json:"description"`
	Enum        []json.RawMessage `json:"enum"`
}

// toolTokens counts the functions a chat request offers, in "tools" or the
// older "functions", the way the cookbook's num_tokens_for_tools does: per
// function "name:description" (without a final period), per parameter
// "name:type:description", and per enum value the value, with the
// overheads above. Nested schemas count only their top level. A tool or
// parameter that does not parse is skipped: the schema is the client's,
// and JSON Schema allows more than this reads.
func toolTokens(enc *encoding, tools, functions json.RawMessage) int {
	if len(tools) == 0 && len(functions) == 0 {
		return 0 // most requests: no decode, no syntax error to build
	}
	var defs []functionDef
	var items []json.RawMessage
	if json.Unmarshal(tools, &items) == nil {
		for _, it := range items {
			var tool struct {
				Function *functionDef `json:"function"`
			}
			if json.Unmarshal(it, &tool) == nil && tool.Function != nil {
				defs = append(defs, *tool.Function)
			}
		}
	}
	items = nil
	if json.Unmarshal(functions, &items) == nil {
		for _, it := range items {
			var f functionDef
			if json.Unmarshal(it, &f) == nil {
				defs = append(defs, f)
			}
		}
	}
	if len(defs) == 0 {
		return 0
	}
	n := toolsEnd
	for _, f := range defs {
		n += enc.funcInit + enc.count(f.Name+":"+strings.TrimSuffix(f.Description, "."))
		if len(f.Parameters.Properties) == 0 {
			continue
		}
		n += toolPropsInit
		for key, raw := range f.Parameters.Properties {
			var p propertyDef
			if json.Unmarshal(raw, &p) != nil {
				continue
			}
			n += toolPropKey
			if p.Enum != nil {
				n += toolEnumInit
				for _, v := range p.Enum {
					n += toolEnumItem + enc.count(jsonText(v))
				}
			}
			n += enc.count(key + ":" + jsonText(p.Type) + ":" + strings.TrimSuffix(p.Description, "."))
		}
	}
	return n
}

// jsonText is a JSON string's value, or any other JSON value's text.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}
