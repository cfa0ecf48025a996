package gateway

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"

	"github.com/spillwayhq/spillway/internal/usage"
)

// tokens are the usage numbers an upstream reports: chat's prompt and
// completion tokens, or the Responses API's (and audio's) input and
// output tokens, with the cached part of the input and the reasoning part
// of the output.
type tokens struct {
	Prompt     int
	Completion int
	Total      int
	Cached     int
	Reasoning  int
	// Seconds is the audio an upstream reports instead of tokens.
	Seconds float64
}

// tailSize is how much of the end of a JSON body the meter keeps: OpenAI
// and Azure put "usage" last, and it is short.
const tailSize = 4 << 10

// maxStreamText bounds the completion text a stream keeps for a token
// estimate when the upstream reports no usage (most do: the gateway asks
// for it). It is the only part of a held stream that grows with its
// length, and ten thousand streams each keeping a long answer would hold
// hundreds of megabytes for an estimate: past it, the text is counted at
// four bytes to a token, as the tokenizer does past
// usage.MaxTokenizedBytes. A logged answer keeps up to
// usage.MaxPayloadBytes.
const maxStreamText = 8 << 10

// meter watches a response body on its way to the client. It finds the
// usage numbers (the end of a JSON body, or the usage event of a stream),
// keeps the text of a stream in case they never come, and, when the gateway
// itself asked the upstream for stream usage, keeps that extra event from a
// client that did not ask for it.
type meter struct {
	stream bool
	flush  bool // flush after every read: a stream, or audio
	strip  bool // drop the usage-only event: the client did not ask for it
	found  bool // usage found
	// keepBody, for prompt logging, holds a JSON body whole (up to
	// usage.MaxPayloadBytes) in body; streams keep their text instead.
	keepBody bool
	// last says the next JSON chunk written is the body's last, and
	// finish follows before its buffer is read into again: the meter
	// keeps its tail, and holds it, where it is, without a copy.
	last bool
	// events counts the stream's events, for the sequence number of an
	// in-band error (2^31 events are 24 days at 1,000 a second); textOver
	// counts the bytes of completion text past maxStreamText, not kept,
	// up to math.MaxInt32. Both are 32 bits, together after the flags:
	// the meter is in the exchange (TestExchangeSizeClass).
	events   int32
	textOver int32

	pending []byte // stream: the start of an incomplete event
	tail    []byte // JSON: the last tailSize bytes
	size    int    // JSON: bytes seen
	text    []byte // completion text, for an estimate

	usage tokens
	body  []byte

	// ids, when set, rewrites object ids in the answer: each event of a
	// stream, or a JSON body held whole (up to maxHeldBody) in held.
	ids  *idRewriter
	held []byte
	// object is the top-level state of a held JSON answer (a response
	// object): whether it runs in the background, and its status.
	object objectState
}

// objectState is what the meter reads of a Responses object's top level.
type objectState struct {
	ID         string
	Background bool
	Status     string
}

// readObjectState reads the top-level id, background and status of a JSON
// object in place; a body that is not an object reads as the zero state.
// The scan stops once it has all three, which a Responses object has in
// its first few members: the rest of the body, its output, is not walked.
func readObjectState(b []byte) objectState {
	var o objectState
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return o
	}
	var seen uint8
	_ = s.object(0, func(rawKey []byte, escaped bool, vs, ve int) error {
		v := b[vs:ve]
		switch string(rawKey) {
		case `"id"`:
			seen |= 1
			if v[0] == '"' {
				o.ID = unquote(v, bytes.IndexByte(v, '\\') >= 0)
			}
		case `"status"`:
			seen |= 2
			if v[0] == '"' {
				o.Status = unquote(v, bytes.IndexByte(v, '\\') >= 0)
			}
		case `"background"`:
			seen |= 4
			o.Background = string(v) == "true"
		}
		if seen == 7 {
			return errStateRead
		}
		return nil
	})
	return o
}

// errStateRead stops readObjectState's scan.
var errStateRead = errors.New("object state read")

// pending reports whether the object is still being made: its usage is
// yet to come.
func (o objectState) pending() bool { return o.Status == "queued" || o.Status == "in_progress" }

// maxHeldBody bounds a JSON answer held for its ids to be rewritten; the
// ids come first, so a larger one is sent on with what was held rewritten.
const maxHeldBody = 32 << 20

// write forwards what the client should see of chunk and returns how many
// bytes went out.
func (m *meter) write(w io.Writer, chunk []byte) (int, error) {
	if !m.stream {
		m.keepTail(chunk)
		if m.ids != nil {
			return m.hold(w, chunk)
		}
		return w.Write(chunk)
	}
	buf := chunk
	if len(m.pending) > 0 {
		m.pending = append(m.pending, chunk...)
		buf = m.pending
	}
	// Write runs of kept events in one call; only a dropped event splits a run.
	out, run, i := 0, 0, 0
	for {
		end := eventEnd(buf[i:])
		if end < 0 {
			break
		}
		m.events++
		if m.ids != nil {
			n, err := w.Write(m.ids.event(buf[i : i+end]))
			out += n
			m.inspect(buf[i : i+end])
			if err != nil {
				return out, err
			}
			i += end
			run = i
			continue
		}
		if m.inspect(buf[i : i+end]) {
			n, err := w.Write(buf[run:i])
			out += n
			if err != nil {
				return out, err
			}
			run = i + end
		}
		i += end
	}
	if i > run {
		n, err := w.Write(buf[run:i])
		out += n
		if err != nil {
			return out, err
		}
	}
	// Keep the incomplete rest for the next chunk (copied: chunk is reused).
	m.pending = append(m.pending[:0], buf[i:]...)
	return out, nil
}

// finish writes an incomplete last event, if any (the upstream ended
// without a blank line), and settles the usage of a JSON body.
func (m *meter) finish(w io.Writer) (int, error) {
	if !m.stream {
		if m.last {
			// The tail is the attempt's buffer, about to be given back:
			// not kept past finish, however it ends.
			defer func() { m.tail = nil }()
		}
		n := 0
		if m.held != nil {
			var err error
			m.object = readObjectState(m.held)
			n, err = w.Write(m.ids.body(m.held, m.object.ID))
			m.held = nil
			if err != nil {
				return n, err
			}
		}
		m.usage, m.found = usageFromTail(m.tail)
		if !m.found && m.size <= tailSize {
			// The whole body is in the tail: keep its text for an estimate.
			m.text = appendJSONString(m.text, m.tail, contentKey)
			m.text = appendJSONString(m.text, m.tail, textKey)
		}
		return n, nil
	}
	if len(m.pending) == 0 {
		return 0, nil
	}
	ev := m.pending
	m.pending = nil
	if m.ids != nil {
		ev = m.ids.event(ev)
	}
	if m.inspect(ev) {
		return 0, nil
	}
	return w.Write(ev)
}

// hold keeps a JSON answer until it is whole, so its ids can be
// rewritten; past maxHeldBody what was held goes out rewritten and the
// rest passes through.
func (m *meter) hold(w io.Writer, chunk []byte) (int, error) {
	if m.held == nil && m.size > len(chunk) {
		// Already past the limit: pass through.
		return w.Write(m.ids.replace(chunk))
	}
	if m.last && m.held == nil && len(chunk) <= maxHeldBody {
		// finish reads it before its buffer is used again.
		m.held = chunk
		return 0, nil
	}
	m.held = append(m.held, chunk...)
	if len(m.held) <= maxHeldBody {
		return 0, nil
	}
	m.object = readObjectState(m.held)
	n, err := w.Write(m.ids.body(m.held, m.object.ID))
	m.held = nil
	return n, err
}

func (m *meter) keepTail(chunk []byte) {
	m.size += len(chunk)
	if m.keepBody && len(m.body) < usage.MaxPayloadBytes {
		m.body = append(m.body, chunk[:min(len(chunk), usage.MaxPayloadBytes-len(m.body))]...)
	}
	if m.last && len(m.tail) == 0 {
		// finish reads it before its buffer is used again.
		m.tail = chunk[max(0, len(chunk)-tailSize):]
		return
	}
	if len(chunk) >= tailSize {
		m.tail = append(m.tail[:0], chunk[len(chunk)-tailSize:]...)
		return
	}
	if over := len(m.tail) + len(chunk) - tailSize; over > 0 {
		m.tail = append(m.tail[:0], m.tail[over:]...)
	}
	m.tail = append(m.tail, chunk...)
}

// completes reports whether chunk, after what is kept of an incomplete
// event, ends an event: an end may straddle the two.
func (m *meter) completes(chunk []byte) bool {
	if eventEnd(chunk) >= 0 {
		return true
	}
	var edge [4]byte
	k := copy(edge[:], m.pending[max(0, len(m.pending)-2):])
	k += copy(edge[k:], chunk[:min(len(chunk), 2)])
	return eventEnd(edge[:k]) >= 0
}

// eventEnd returns the length of the first complete server-sent event in b
// (through its blank line, \n\n or \r\n\r\n), or -1.
// It jumps from line end to line end (bytes.IndexByte): an event's data
// line is a few hundred bytes, looked at a byte at a time before.
func eventEnd(b []byte) int {
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		if i += j; i+1 >= len(b) {
			return -1
		}
		if b[i+1] == '\n' {
			return i + 2
		}
		if b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n' {
			return i + 3
		}
	}
}

var (
	usageObject = []byte(`"usage":{`)
	emptyChoice = []byte(`"choices":[]`)
	contentKey  = []byte(`"content":"`)
	textKey     = []byte(`"text":"`)
)

// inspect reads one event and reports whether to drop it: the usage
// event, when the client did not ask for it. An event with a usage object
// gives its usage and no text; any other gives the values of its
// "content" and "text" strings (all of the first, then all of the
// second), kept up to maxStreamText and counted past it.
//
// It walks the event once, from colon to colon (a chat chunk has a dozen),
// and matches the key that ends at each: every key it looks for ends in
// a quote and a colon, and the value of a key it takes is stepped over.
// That finds exactly what a search for each key over the whole event
// finds (indexKey, then on from the end of the value taken), in about a
// third of the time (BenchmarkInspect): no colon of such a key can be
// inside a string, whose inner quotes are escaped, while the quote before
// the colon follows a letter. FuzzInspect holds it to those searches.
func (m *meter) inspect(ev []byte) bool {
	limit := maxStreamText
	if m.keepBody {
		limit = usage.MaxPayloadBytes
	}
	keep := len(m.text) < limit
	kept := len(m.text)
	// contentFrom and textFrom are where the next key of each may start,
	// past the value of the last one taken, or -1 once a value does not
	// parse (a truncated event): the search for that key ends there.
	contentFrom, textFrom := 0, 0
	over := 0
	// texts counts the "text" values taken: a "content" value after one
	// would be kept out of order (all "content" values come first).
	texts, reorder := 0, false
	for i := 0; ; {
		j := bytes.IndexByte(ev[i:], ':')
		if j < 0 {
			break
		}
		c := i + j
		i = c + 1
		if c < 6 || c+1 >= len(ev) || ev[c-1] != '"' {
			continue
		}
		var from *int
		switch {
		case ev[c+1] == '{' && c >= 7 && string(ev[c-7:c]) == `"usage"`:
			// An event with usage gives no text: drop what came before.
			m.text = m.text[:kept]
			if u, ok := parseUsage(ev[c+1:]); ok {
				m.usage, m.found = u, true
			}
			return m.strip && indexKey(ev, emptyChoice) >= 0
		case ev[c+1] != '"' || ev[c-2] != 't':
			continue
		case c >= 9 && string(ev[c-9:c]) == `"content"` && contentFrom >= 0 && c-9 >= contentFrom:
			from = &contentFrom
		case string(ev[c-6:c]) == `"text"` && textFrom >= 0 && c-6 >= textFrom:
			from = &textFrom
		default:
			continue
		}
		s := scanner{b: ev, i: c + 1}
		start, end, escaped, err := s.str()
		if err != nil {
			*from = -1
			continue
		}
		if from == &textFrom {
			texts++
		} else {
			reorder = reorder || texts > 0
		}
		switch {
		case !keep:
			over += end - start - 2
		case escaped:
			m.text = append(m.text, unquote(ev[start:end], true)...)
		default:
			m.text = append(m.text, ev[start+1:end-1]...)
		}
		*from, i = end, end
	}
	if !keep {
		m.textOver = int32(min(int(m.textOver)+over, math.MaxInt32))
	} else if reorder {
		// A "text" came before a "content": rare enough to search again.
		m.text = appendJSONString(m.text[:kept], ev, contentKey)
		m.text = appendJSONString(m.text, ev, textKey)
	}
	return false
}

// indexKey is bytes.Index for a key that begins with a quote, as every
// key the meter looks for does. An event has a quote every few bytes,
// and bytes.Index stops at each occurrence of the first byte it looks
// for: it looks for the rest of the key, whose first letter is rarer,
// and then checks the quote.
func indexKey(b, key []byte) int {
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

// completionTokens estimates the completion's tokens from the text kept,
// and the text past it at four bytes to a token.
func (m *meter) completionTokens(model string) int {
	return usage.CountTokens(model, string(m.text)) + int(m.textOver)/4
}

// usageFromTail finds the last "usage" object in the end of a JSON body.
func usageFromTail(tail []byte) (tokens, bool) {
	i := lastIndex(tail, usageObject)
	if i < 0 {
		return tokens{}, false
	}
	return parseUsage(tail[i+len(`"usage":`):])
}

// lastIndex is bytes.LastIndex for a pattern near the end of b, as the
// usage is in an answer: searched from the end, where bytes.LastIndex
// hashes every byte of b and bytes.Index stops at every quote. It stops
// at the pattern's last byte, the brace: the usage object it steps back
// over, most of its way, has three braces to thirty-odd quotes.
func lastIndex(b, pattern []byte) int {
	last := pattern[len(pattern)-1]
	for i := len(b) - 1; i >= len(pattern)-1; i-- {
		if b[i] == last && bytes.Equal(b[i+1-len(pattern):i+1], pattern) {
			return i + 1 - len(pattern)
		}
	}
	return -1
}

// parseUsage reads the usage object at the start of b: chat's
// prompt_tokens and completion_tokens or the Responses API's input_tokens
// and output_tokens, with cached_tokens and reasoning_tokens from the
// detail objects. The counts are read in place, not decoded.
//
// The scan that checks the object's syntax also notes where the first of
// each key it reads ends (usageKeys), at any depth: one walk, where five
// searches over the object followed it. FuzzParseUsage holds it to those
// searches (parseUsageBefore).
func parseUsage(b []byte) (tokens, bool) {
	var at usageKeys
	s := scanner{b: b, keys: &at}
	if len(b) == 0 || b[0] != '{' || s.value(1) != nil {
		return tokens{}, false
	}
	obj := b[:s.i]
	var u tokens
	var ok bool
	if u.Prompt, ok = intAt(obj, at[keyPrompt]); ok {
		u.Completion, _ = intAt(obj, at[keyCompletion])
	} else if u.Prompt, ok = intAt(obj, at[keyInput]); ok {
		u.Completion, _ = intAt(obj, at[keyOutput])
	} else if u.Seconds, ok = floatAt(obj, at[keySeconds]); ok {
		// Whisper's {"type":"duration","seconds":N}: no tokens.
		return u, true
	} else {
		return tokens{}, false
	}
	u.Cached, _ = intAt(obj, at[keyCached])
	u.Reasoning, _ = intAt(obj, at[keyReasoning])
	u.Total, _ = intAt(obj, at[keyTotal])
	if u.Total == 0 {
		u.Total = u.Prompt + u.Completion
	}
	return u, true
}

// The keys of a usage object parseUsage reads, as indexes of usageKeys.
const (
	keyPrompt = iota
	keyCompletion
	keyInput
	keyOutput
	keySeconds
	keyCached
	keyReasoning
	keyTotal
	usageKeyCount
)

// usageKeys holds, for each key parseUsage reads, where the value of its
// first occurrence starts (past the colon), or 0 when there is none: no
// value starts at 0.
//
// A key counts when its colon follows its closing quote and its text ends
// in the name (the key "a\"prompt_tokens" counts as prompt_tokens): the
// bytes "prompt_tokens": then stand in the object, and that is what the
// searches this replaced looked for, and like them it keeps the first:
// the keys are unique in a usage object, nested detail objects included.
type usageKeys [usageKeyCount]int

// note records the key b[ks:ke] (quotes included) if it is one of
// parseUsage's.
func (k *usageKeys) note(b []byte, ks, ke int) {
	if ke >= len(b) || b[ke] != ':' {
		return
	}
	key := b[ks:ke]
	i, ok := -1, false
	if name, tokens := cutSuffix(key, `_tokens"`); tokens {
		i, ok = tokensKey(name)
	} else if hasSuffix(key, `"seconds"`) {
		i, ok = keySeconds, true
	}
	if !ok {
		return
	}
	if k[i] == 0 {
		k[i] = ke + 1
	}
}

// tokensKey says which of parseUsage's keys ends in name and _tokens,
// if any. Its last letter picks the one or three names to compare: a chat
// usage has nine keys ending in _tokens, four of them none of these.
func tokensKey(name []byte) (int, bool) {
	if len(name) == 0 {
		return 0, false
	}
	switch name[len(name)-1] {
	case 't':
		switch {
		case hasSuffix(name, `"prompt`):
			return keyPrompt, true
		case hasSuffix(name, `"input`):
			return keyInput, true
		case hasSuffix(name, `"output`):
			return keyOutput, true
		}
	case 'n':
		return keyCompletion, hasSuffix(name, `"completion`)
	case 'd':
		return keyCached, hasSuffix(name, `"cached`)
	case 'g':
		return keyReasoning, hasSuffix(name, `"reasoning`)
	case 'l':
		return keyTotal, hasSuffix(name, `"total`)
	}
	return 0, false
}

// hasSuffix is bytes.HasSuffix for a constant suffix, compared in a
// load or two rather than a call to memequal: with bytes.HasSuffix and
// bytes.CutSuffix, BenchmarkParseUsage took 5-10% longer (the mock's chat
// usage 332-348 ns against 307-322, three alternating runs).
func hasSuffix(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && string(b[len(b)-len(suffix):]) == suffix
}

// cutSuffix is bytes.CutSuffix for a constant suffix.
func cutSuffix(b []byte, suffix string) ([]byte, bool) {
	if !hasSuffix(b, suffix) {
		return b, false
	}
	return b[:len(b)-len(suffix)], true
}

// intAt returns the integer whose value starts at j in obj (after any
// white space), up to 18 digits; j 0 is no value.
func intAt(obj []byte, j int) (int, bool) {
	if j == 0 {
		return 0, false
	}
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

// floatAt returns the number whose value starts at j in obj; j 0 is no
// value.
func floatAt(obj []byte, j int) (float64, bool) {
	if j == 0 {
		return 0, false
	}
	s := scanner{b: obj, i: j}
	s.ws()
	start := s.i
	if s.i >= len(obj) || (obj[s.i] != '-' && (obj[s.i] < '0' || obj[s.i] > '9')) || s.number() != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(obj[start:s.i]), 64)
	return f, err == nil && f >= 0
}

// appendJSONString appends the value of every string field named by key
// (key includes the opening quote of the value) found in ev.
func appendJSONString(dst, ev, key []byte) []byte {
	for quoted, escaped, rest, ok := nextJSONString(ev, key); ok; quoted, escaped, rest, ok = nextJSONString(rest, key) {
		if escaped {
			dst = append(dst, unquote(quoted, true)...)
		} else {
			dst = append(dst, quoted[1:len(quoted)-1]...)
		}
	}
	return dst
}

// nextJSONString finds the first string field named by key in ev and
// returns its value as it stands, quotes included, whether it holds an
// escape, and what of ev follows it; ok is false when there is none (or
// its string does not end).
func nextJSONString(ev, key []byte) (quoted []byte, escaped bool, rest []byte, ok bool) {
	i := indexKey(ev, key)
	if i < 0 {
		return nil, false, nil, false
	}
	s := scanner{b: ev, i: i + len(key) - 1} // the opening quote
	start, end, escaped, err := s.str()
	if err != nil {
		return nil, false, nil, false
	}
	return ev[start:end], escaped, ev[end:], true
}
