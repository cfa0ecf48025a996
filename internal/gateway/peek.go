package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// peeked holds the few request fields the gateway needs, read from the top
// level of the JSON body without decoding the rest of it.
type peeked struct {
	// Model is the body's model, "" when absent.
	Model string
	// modelStart and modelEnd bound the model value (quotes included, or
	// a null), so a rewrite can splice it; both -1 when absent.
	modelStart, modelEnd int
	// MaxTokens is the capped field (max_tokens or max_completion_tokens,
	// or max_output_tokens for the Responses API), -1 when absent.
	MaxTokens int64
	// maxStart and maxEnd bound its value, so a cap can be spliced in;
	// both -1 when absent. maxField names the field.
	maxStart, maxEnd int
	maxField         string
	// Previous is a Responses request's previous_response_id, and
	// prevStart and prevEnd bound its value (quotes included); -1 when
	// absent.
	Previous           string
	prevStart, prevEnd int
	// User is the request's user field, for usage records.
	User string

	// The flags are together, not each padded to 8 bytes: the exchange
	// holds a peek for a stream's whole life (TestExchangeSizeClass).
	Stream bool
	// output is true when the capped field is the Responses API's
	// max_output_tokens rather than chat's two.
	output bool
	// Background is a Responses request's background: true.
	Background bool
	// HasStreamOptions is true when the body has a stream_options object;
	// IncludeUsage is its include_usage.
	HasStreamOptions bool
	IncludeUsage     bool
}

// maxJSONDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxJSONDepth = 512

// peek scans body, which must be one JSON object, and extracts the fields
// of peeked. It validates the syntax of everything it skips, so a body it
// accepts is valid JSON.
func peek(body []byte) (peeked, error) { return peekCap(body, false) }

// peekCap is peek for an operation whose capped field is max_output_tokens
// (output true) or max_tokens/max_completion_tokens.
func peekCap(body []byte, output bool) (peeked, error) {
	p := noPeek
	p.output = output
	s := scanner{b: body}
	s.ws()
	if s.i >= len(body) || body[s.i] != '{' {
		return p, s.fail("expected a JSON object")
	}
	err := s.object(0, func(key []byte, escaped bool, vs, ve int) error {
		return p.set(key, escaped, body, vs, ve)
	})
	if err != nil {
		return p, err
	}
	return p, s.end()
}

// unquote returns the text of a validated JSON string token. Tokens
// without escapes, nearly all of them, are sliced rather than decoded.
func unquote(raw []byte, escaped bool) string {
	if !escaped && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // raw was validated by the scanner
	return s
}

// set records one top-level field we care about. rawKey is the quoted key;
// the raw value is body[vs:ve].
func (p *peeked) set(rawKey []byte, escaped bool, body []byte, vs, ve int) error {
	v := body[vs:ve]
	var k string
	if escaped {
		k = unquote(rawKey, true)
	}
	// string(bytes) in a switch does not allocate.
	name := rawKey[1 : len(rawKey)-1]
	switch {
	case escaped && k == "model", !escaped && string(name) == "model":
		if string(v) == "null" {
			// No model, but the span is kept: a rewrite must replace the
			// null, or the body would name the model twice.
			p.Model, p.modelStart, p.modelEnd = "", vs, ve
			return nil
		}
		if v[0] != '"' {
			return &fieldError{field: "model", msg: "model must be a string"}
		}
		p.Model = unquote(v, bytes.IndexByte(v, '\\') >= 0)
		p.modelStart, p.modelEnd = vs, ve
		return nil
	}
	if escaped {
		name = []byte(k)
	}
	switch string(name) {
	case "stream":
		switch string(v) {
		case "true":
			p.Stream = true
		case "false", "null":
			p.Stream = false
		default:
			return &fieldError{field: "stream", msg: "stream must be true or false"}
		}
	case "background":
		p.Background = string(v) == "true"
	case "user":
		if v[0] == '"' {
			p.User = unquote(v, bytes.IndexByte(v, '\\') >= 0)
		}
	case "stream_options":
		if v[0] == '{' {
			p.HasStreamOptions = true
			var o struct {
				IncludeUsage bool `json:"include_usage"`
			}
			_ = json.Unmarshal(v, &o)
			p.IncludeUsage = o.IncludeUsage
		}
	case "previous_response_id":
		switch {
		case string(v) == "null":
		case v[0] != '"':
			return &fieldError{field: "previous_response_id", msg: "previous_response_id must be a string"}
		default:
			p.Previous = unquote(v, bytes.IndexByte(v, '\\') >= 0)
			p.prevStart, p.prevEnd = vs, ve
		}
	case "max_output_tokens":
		if !p.output {
			return nil
		}
		p.maxField = "max_output_tokens"
		p.maxStart, p.maxEnd = vs, ve
		if string(v) == "null" {
			return nil
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return &fieldError{field: "max_output_tokens", msg: "max_output_tokens must be a non-negative integer"}
		}
		p.MaxTokens = n
	case "max_tokens", "max_completion_tokens":
		if p.output {
			return nil
		}
		field := "max_tokens" // a constant: string(name) allocated
		if string(name) == "max_completion_tokens" {
			field = "max_completion_tokens"
		}
		if p.maxField != "" && p.maxField != field {
			// A cap could only be checked against one of them.
			return &fieldError{field: "max_tokens", msg: "send max_tokens or max_completion_tokens, not both"}
		}
		p.maxField = field
		p.maxStart, p.maxEnd = vs, ve
		if string(v) == "null" {
			return nil
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return &fieldError{field: field, msg: field + " must be a non-negative integer"}
		}
		p.MaxTokens = n
	}
	return nil
}

// withModel returns body with its model replaced by (or, when absent, set
// to) model. The body is not modified.
func withModel(body []byte, p peeked, model string) []byte {
	q, _ := json.Marshal(model)
	if p.modelStart >= 0 {
		return splice(body, p.modelStart, p.modelEnd, q)
	}
	out, _ := insertFirst(body, "model", q)
	return out
}

// splice returns a copy of body with body[start:end] replaced by v.
func splice(body []byte, start, end int, v []byte) []byte {
	out := make([]byte, 0, len(body)-(end-start)+len(v))
	out = append(out, body[:start]...)
	out = append(out, v...)
	return append(out, body[end:]...)
}

// insertFirst returns a copy of body, a validated JSON object, with the
// member "key":value inserted first, and the offset of value in the copy.
func insertFirst(body []byte, key string, value []byte) ([]byte, int) {
	i := bytes.IndexByte(body, '{') + 1
	out := make([]byte, 0, len(body)+len(key)+len(value)+4)
	out = append(out, body[:i]...)
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, `":`...)
	at := len(out)
	out = append(out, value...)
	if !onlySpaceThen(body[i:], '}') {
		out = append(out, ',')
	}
	return append(out, body[i:]...), at
}

// moved returns p for its body with by bytes inserted at offset at (or,
// when by is negative, removed there): the spans from at on shift.
func (p peeked) moved(at, by int) peeked {
	if p.modelStart >= at {
		p.modelStart += by
		p.modelEnd += by
	}
	if p.maxStart >= at {
		p.maxStart += by
		p.maxEnd += by
	}
	if p.prevStart >= at {
		p.prevStart += by
		p.prevEnd += by
	}
	return p
}

func onlySpaceThen(b []byte, c byte) bool {
	for _, x := range b {
		switch x {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return x == c
	}
	return false
}

// fieldError is a body field with a wrong type or value.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }

// syntaxError is malformed JSON.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("request body is not valid JSON: %s at byte %d", e.msg, e.offset)
}

// scanner is a minimal JSON syntax walker over a byte slice.
type scanner struct {
	b []byte
	i int
	// keys, when set, is told of every object key, at any depth: how
	// parseUsage finds its keys in the walk that checks the syntax.
	keys *usageKeys
}

func (s *scanner) fail(msg string) error {
	if s.i >= len(s.b) {
		return &syntaxError{msg: msg + ", found end of input", offset: s.i}
	}
	return &syntaxError{msg: fmt.Sprintf("%s, found %q", msg, s.b[s.i]), offset: s.i}
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("unexpected data after the top-level object")
	}
	return nil
}

// str consumes a string and returns its span, quotes included, and whether
// it contains escapes.
func (s *scanner) str() (start, end int, escaped bool, err error) {
	start = s.i
	if !s.eat('"') {
		return 0, 0, false, s.fail("expected a string")
	}
	for s.i < len(s.b) {
		s.i = plainRun(s.b, s.i)
		if s.i >= len(s.b) {
			break
		}
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return start, s.i, escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return 0, 0, false, err
			}
		default: // below 0x20: plainRun stops only at these three
			return 0, 0, false, s.fail("control character in string")
		}
	}
	return 0, 0, false, s.fail("unterminated string")
}

func (s *scanner) escape() error {
	s.i++ // the backslash
	if s.i >= len(s.b) {
		return s.fail("unterminated escape")
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		s.i++
		for k := 0; k < 4; k++ {
			if s.i >= len(s.b) || !isHex(s.b[s.i]) {
				return s.fail("bad \\u escape")
			}
			s.i++
		}
		return nil
	}
	return s.fail("bad escape")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// value consumes any JSON value.
func (s *scanner) value(depth int) error {
	if depth > maxJSONDepth {
		return s.fail("nesting too deep")
	}
	if s.i >= len(s.b) {
		return s.fail("expected a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, err := s.str()
		return err
	case c == '{':
		return s.nested(depth)
	case c == '[':
		return s.array(depth)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return s.fail("expected a value")
}

// object consumes an object, calling member with each key (quoted, and
// whether it has escapes) and the span of its value.
func (s *scanner) object(depth int, member func(key []byte, escaped bool, vs, ve int) error) error {
	s.i++
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		ks, ke, escaped, vs, err := s.member(depth)
		if err != nil {
			return err
		}
		if err := member(s.b[ks:ke], escaped, vs, s.i); err != nil {
			return err
		}
		if more, err := s.more(); !more {
			return err
		}
	}
}

// nested consumes an object inside a value: object without a callback.
// Escape analysis does not tell a scanner's fields apart, so a callback
// handed any of its bytes would send what else it points to, a
// parseUsage's usageKeys, to the heap; the recursive walk never calls one.
func (s *scanner) nested(depth int) error {
	s.i++
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		if _, _, _, _, err := s.member(depth); err != nil {
			return err
		}
		if more, err := s.more(); !more {
			return err
		}
	}
}

// member consumes one member of an object, key and value, and returns the
// span of its key (quotes included), whether the key has escapes, and
// where its value starts; the value ends at s.i.
func (s *scanner) member(depth int) (ks, ke int, escaped bool, vs int, err error) {
	if ks, ke, escaped, err = s.key(); err != nil {
		return 0, 0, false, 0, err
	}
	vs = s.i
	return ks, ke, escaped, vs, s.value(depth + 1)
}

// key consumes a member's key and its colon, and returns the key's span
// (quotes included) and whether it has escapes; the value starts at s.i.
func (s *scanner) key() (ks, ke int, escaped bool, err error) {
	s.ws()
	if ks, ke, escaped, err = s.str(); err != nil {
		return 0, 0, false, err
	}
	if s.keys != nil {
		s.keys.note(s.b, ks, ke)
	}
	s.ws()
	if !s.eat(':') {
		return 0, 0, false, s.fail("expected ':' after object key")
	}
	s.ws()
	return ks, ke, escaped, nil
}

// more consumes what follows a member: a comma, and reports that another
// member follows, or the closing brace.
func (s *scanner) more() (bool, error) {
	s.ws()
	if s.eat(',') {
		return true, nil
	}
	if s.eat('}') {
		return false, nil
	}
	return false, s.fail("expected ',' or '}' in object")
}

func (s *scanner) array(depth int) error {
	s.i++
	s.ws()
	if s.eat(']') {
		return nil
	}
	for {
		s.ws()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return nil
		}
		return s.fail("expected ',' or ']' in array")
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail("invalid literal")
	}
	s.i += len(lit)
	return nil
}

// number consumes a number following the JSON grammar.
func (s *scanner) number() error {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("invalid number")
	}
	if s.eat('.') {
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}
