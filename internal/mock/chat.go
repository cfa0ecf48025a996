package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// chatRequest is the part of a chat completions request the mock reads.
type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	MaxTokens           int           `json:"max_tokens"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
	Stream              bool          `json:"stream"`
	StreamOptions       streamOptions `json:"stream_options"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
}

// messageContent is a message's text: the content string, or the text
// parts of a content array joined by newlines (images and audio parts are
// skipped).
type messageContent string

func (m *messageContent) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 1 && b[0] == '"':
		// Most contents need no unescaping; the outer decoder has already
		// checked the syntax, so copy those directly.
		if raw := b[1 : len(b)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			*m = messageContent(raw)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = messageContent(s)
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return &invalidFieldError{"messages.content", "Invalid 'messages.content': expected a string or an array of content parts."}
		}
		var text []byte
		for _, p := range parts {
			if p.Type != "text" {
				continue
			}
			if len(text) > 0 {
				text = append(text, '\n')
			}
			text = append(text, p.Text...)
		}
		*m = messageContent(text)
	case string(b) == "null":
		*m = ""
	default:
		return &invalidFieldError{"messages.content", "Invalid 'messages.content': expected a string or an array of content parts."}
	}
	return nil
}

// completionRequest is the part of a legacy completions request the mock
// reads.
type completionRequest struct {
	Model         string        `json:"model"`
	Prompt        promptInput   `json:"prompt"`
	MaxTokens     int           `json:"max_tokens"`
	Stream        bool          `json:"stream"`
	StreamOptions streamOptions `json:"stream_options"`
}

// promptInput is a textInput reported as "prompt" in errors.
type promptInput struct{ textInput }

func (p *promptInput) UnmarshalJSON(b []byte) error {
	err := p.textInput.UnmarshalJSON(b)
	if err != nil {
		return &invalidFieldError{"prompt", "Invalid 'prompt': expected a string, an array of strings, an array of tokens or an array of token arrays."}
	}
	return nil
}

func (c *call) chat() {
	var req chatRequest
	if !c.readBody(&req) {
		return
	}
	model, ok := c.requireModel(req.Model)
	if !ok {
		return
	}
	switch {
	case req.Messages == nil:
		badRequest(c.w, "Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
		return
	case len(req.Messages) == 0:
		badRequest(c.w, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array")
		return
	}
	limit := req.MaxCompletionTokens
	param := "max_completion_tokens"
	if limit == 0 {
		limit, param = req.MaxTokens, "max_tokens"
	}
	if !c.checkLimit(limit, param) {
		return
	}
	h := newHasher()
	prompt := 3 // every reply is primed with a few tokens
	for i := range req.Messages {
		m := &req.Messages[i]
		h.add(m.Role)
		h.add(string(m.Content))
		prompt += 4 + approxTokens(string(m.Content))
	}
	a := newAnswer(uint64(h), limit)
	if req.Stream {
		c.stream(true, model, a, prompt, req.StreamOptions.IncludeUsage)
		return
	}
	if !c.sleep(c.generationDelay(a.n)) {
		return
	}

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	b = c.appendID(b, "chatcmpl-")
	b = append(b, `,"object":"chat.completion",`...)
	b = appendKInt(b, "created", time.Now().Unix())
	b = append(b, ',')
	b = appendKV(b, "model", model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":"`...)
	b = a.appendText(b)
	b = append(b, `","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"`...)
	b = append(b, a.finish...)
	b = append(b, `"}],`...)
	b = appendUsage(b, prompt, a.n)
	b = append(b, `,"service_tier":"default",`...)
	b = c.appendFingerprint(b)
	b = append(b, '}')
	*bp = b
	c.writeBody(b)
}

func (c *call) completions() {
	var req completionRequest
	if !c.readBody(&req) {
		return
	}
	model, ok := c.requireModel(req.Model)
	if !ok {
		return
	}
	if !req.Prompt.set {
		badRequest(c.w, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
		return
	}
	if !c.checkLimit(req.MaxTokens, "max_tokens") {
		return
	}
	h := newHasher()
	prompt := 0
	for _, in := range req.Prompt.items {
		h.addUint(in.seed)
		prompt += in.tokens
	}
	a := newAnswer(uint64(h), req.MaxTokens)
	if req.Stream {
		c.stream(false, model, a, prompt, req.StreamOptions.IncludeUsage)
		return
	}
	if !c.sleep(c.generationDelay(a.n)) {
		return
	}

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	b = c.appendID(b, "cmpl-")
	b = append(b, `,"object":"text_completion",`...)
	b = appendKInt(b, "created", time.Now().Unix())
	b = append(b, ',')
	b = appendKV(b, "model", model)
	b = append(b, `,"choices":[{"text":"`...)
	b = a.appendText(b)
	b = append(b, `","index":0,"logprobs":null,"finish_reason":"`...)
	b = append(b, a.finish...)
	b = append(b, `"}],`...)
	b = appendUsage(b, prompt, a.n)
	b = append(b, ',')
	b = c.appendFingerprint(b)
	b = append(b, '}')
	*bp = b
	c.writeBody(b)
}

// requireModel returns the model to answer as. The OpenAI shapes need a
// model in the body; the Azure deployment routes use the deployment.
func (c *call) requireModel(model string) (string, bool) {
	if c.route.shape == shapeAzure {
		return c.route.name, true
	}
	if model == "" {
		badRequest(c.w, "you must provide a model parameter", "", "")
		return "", false
	}
	return model, true
}

// checkLimit rejects a negative token limit the way OpenAI does.
func (c *call) checkLimit(limit int, param string) bool {
	if limit >= 0 {
		return true
	}
	badRequest(c.w, "Invalid '"+param+"': integer below minimum value. Expected a value >= 1, but got "+strconv.Itoa(limit)+" instead.", param, "integer_below_min_value")
	return false
}

// errStopped ends a stream when the Server is closed.
var errStopped = errors.New("mock: server closed")

// stream sends answer a as server-sent events, the way OpenAI does: for
// chat a role chunk first, then one chunk per token, a chunk with the
// finish_reason, the usage chunk if asked, and [DONE].
func (c *call) stream(chat bool, model string, a answer, prompt int, includeUsage bool) {
	h := c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	c.w.WriteHeader(http.StatusOK)

	pp := getBuf()
	defer putBuf(pp)
	prefix := append((*pp)[:0], "data: {"...)
	object := `,"object":"text_completion",`
	if chat {
		prefix = c.appendID(prefix, "chatcmpl-")
		object = `,"object":"chat.completion.chunk",`
	} else {
		prefix = c.appendID(prefix, "cmpl-")
	}
	prefix = append(prefix, object...)
	prefix = appendKInt(prefix, "created", time.Now().Unix())
	prefix = append(prefix, ',')
	prefix = appendKV(prefix, "model", model)
	prefix = append(prefix, ',')
	prefix = c.appendFingerprint(prefix)
	prefix = append(prefix, `,"choices":[`...)
	*pp = prefix
	suffix := "]}\n\n"
	if includeUsage {
		// OpenAI sends "usage":null in every chunk but the last when usage
		// was asked for.
		suffix = "],\"usage\":null}\n\n"
	}

	bp := getBuf()
	defer putBuf(bp)
	sw := sseWriter{c: c, rc: http.NewResponseController(c.w), buf: bp, prefix: prefix, suffix: suffix}
	if c.abortAfter == 0 {
		_ = sw.rc.Flush()
		abort(c.w, true)
		return
	}

	if chat && !sw.event(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`, "", false) {
		return
	}
	p := newPacer(c.tps)
	for i := range a.n {
		if err := p.wait(c); err != nil {
			if errors.Is(err, errStopped) {
				abort(c.w, true)
			}
			return
		}
		tok, period := a.token(i)
		var ok bool
		if chat {
			ok = sw.token(`{"index":0,"delta":{"content":"`, tok, period, `"},"logprobs":null,"finish_reason":null}`)
		} else {
			ok = sw.token(`{"text":"`, tok, period, `","index":0,"logprobs":null,"finish_reason":null}`)
		}
		if !ok {
			return
		}
	}
	var ok bool
	if chat {
		ok = sw.event(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"`, a.finish, true)
	} else {
		ok = sw.event(`{"text":"","index":0,"logprobs":null,"finish_reason":"`, a.finish, true)
	}
	if !ok {
		return
	}
	if includeUsage {
		b := append((*bp)[:0], prefix...)
		b = append(b, "],"...)
		b = appendUsage(b, prompt, a.n)
		b = append(b, "}\n\n"...)
		*bp = b
		if !sw.write(b) {
			return
		}
	}
	if c.abortAfter > 0 {
		// The stream was shorter than the fault's budget: break it rather
		// than end it cleanly.
		abort(c.w, true)
		return
	}
	_, _ = c.w.Write([]byte("data: [DONE]\n\n"))
	_ = sw.rc.Flush()
}

// sseWriter writes the events of one stream, flushing each, and resets the
// connection once the reset-mid-stream budget is spent.
type sseWriter struct {
	c      *call
	rc     *http.ResponseController
	buf    *[]byte
	prefix []byte
	suffix string
	sent   int
}

// event writes prefix + choice (+ quoted finish + `"}`) + suffix.
func (sw *sseWriter) event(choice, finish string, closeFinish bool) bool {
	b := append((*sw.buf)[:0], sw.prefix...)
	b = append(b, choice...)
	if closeFinish {
		b = append(b, finish...)
		b = append(b, `"}`...)
	}
	b = append(b, sw.suffix...)
	*sw.buf = b
	return sw.write(b)
}

// token writes one content chunk; tok is plain ASCII, valid JSON as is.
func (sw *sseWriter) token(head, tok string, period bool, tail string) bool {
	b := append((*sw.buf)[:0], sw.prefix...)
	b = append(b, head...)
	b = append(b, tok...)
	if period {
		b = append(b, '.')
	}
	b = append(b, tail...)
	b = append(b, sw.suffix...)
	*sw.buf = b
	return sw.write(b)
}

// write sends one event and flushes it. It returns false when the stream
// must stop: the client is gone, or the connection was reset on purpose.
func (sw *sseWriter) write(b []byte) bool {
	if _, err := sw.c.w.Write(b); err != nil {
		return false
	}
	if err := sw.rc.Flush(); err != nil {
		return false
	}
	sw.sent++
	if sw.c.abortAfter > 0 && sw.sent >= sw.c.abortAfter {
		abort(sw.c.w, true)
		return false
	}
	return true
}

// pacer spaces events 1/tps apart, measured from the start so that slow
// writes do not accumulate drift.
type pacer struct {
	interval time.Duration
	next     time.Time
	timer    *time.Timer
}

func newPacer(tps float64) pacer {
	if tps <= 0 {
		return pacer{}
	}
	return pacer{interval: time.Duration(float64(time.Second) / tps), next: time.Now()}
}

// wait blocks until the next event is due, the client leaves (its context
// error) or the server closes (errStopped).
func (p *pacer) wait(c *call) error {
	if p.interval <= 0 {
		return nil
	}
	p.next = p.next.Add(p.interval)
	d := time.Until(p.next)
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-c.r.Context().Done():
		return c.r.Context().Err()
	case <-c.s.done:
		return errStopped
	}
}
