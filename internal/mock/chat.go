package mock

import (
	"bytes"
	"encoding/json"
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
			return &invalidFieldError{field: "messages.content", msg: "Invalid 'messages.content': expected a string or an array of content parts."}
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
		return &invalidFieldError{field: "messages.content", msg: "Invalid 'messages.content': expected a string or an array of content parts."}
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
		return &invalidFieldError{field: "prompt", msg: "Invalid 'prompt': expected a string, an array of strings, an array of tokens or an array of token arrays."}
	}
	return nil
}

func (c *call) chat() {
	var req chatRequest
	if !c.checkExtraParameters() || !c.readBody(&req) {
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
	c.reply(true, model, newAnswer(uint64(h), limit), prompt, req.Stream, req.StreamOptions.IncludeUsage)
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
	c.reply(false, model, newAnswer(uint64(h), req.MaxTokens), prompt, req.Stream, req.StreamOptions.IncludeUsage)
}

// reply sends answer a to a chat (chat true) or completions request: as
// server-sent events when stream is set, else as one body after the time
// the tokens would take to generate.
func (c *call) reply(chat bool, model string, a answer, prompt int, stream, includeUsage bool) {
	if stream {
		c.stream(chat, model, a, prompt, includeUsage)
		return
	}
	if !c.sleep(c.generationDelay(a.n)) {
		return
	}

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	if chat {
		b = c.appendID(b, "chatcmpl-")
		b = append(b, `,"object":"chat.completion",`...)
	} else {
		b = c.appendID(b, "cmpl-")
		b = append(b, `,"object":"text_completion",`...)
	}
	b = appendKInt(b, "created", time.Now().Unix())
	b = append(b, ',')
	b = appendKV(b, "model", model)
	if chat {
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":"`...)
		b = a.appendText(b)
		b = append(b, `","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"`...)
	} else {
		b = append(b, `,"choices":[{"text":"`...)
		b = a.appendText(b)
		b = append(b, `","index":0,"logprobs":null,"finish_reason":"`...)
	}
	b = append(b, a.finish...)
	b = append(b, `"}],`...)
	b = appendUsage(b, prompt, a.n)
	if chat {
		b = append(b, `,"service_tier":"default"`...)
	}
	b = append(b, ',')
	b = c.appendFingerprint(b)
	b = append(b, '}')
	*bp = b
	c.writeBody(b)
}

// requireModel returns the model to answer as. The OpenAI shapes need a
// model in the body; the Azure deployment routes use the deployment; Azure
// AI Inference takes the body's model or the azureml-model-deployment
// header.
func (c *call) requireModel(model string) (string, bool) {
	if c.route.shape == shapeAzure {
		return c.route.name, true
	}
	if model == "" && c.route.shape == shapeInference {
		model = c.r.Header.Get("Azureml-Model-Deployment")
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
