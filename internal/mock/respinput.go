package mock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// responseRequest is the part of a Responses API request the mock reads.
// Fields the answer echoes are kept as raw JSON.
type responseRequest struct {
	Model              string          `json:"model"`
	Input              responseInput   `json:"input"`
	Instructions       json.RawMessage `json:"instructions"`
	Tools              json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	Text               json.RawMessage `json:"text"`
	Reasoning          *reasoningParam `json:"reasoning"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Store              *bool           `json:"store"`
	Background         bool            `json:"background"`
	PreviousResponseID string          `json:"previous_response_id"`
	Stream             bool            `json:"stream"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	Metadata           json.RawMessage `json:"metadata"`
	User               string          `json:"user"`
	Include            []string        `json:"include"`
	Conversation       json.RawMessage `json:"conversation"`
}

type reasoningParam struct {
	Effort  string `json:"effort"`
	Summary string `json:"summary"`
}

// responseInput is the Responses API's input: a string, or a list of
// items. A string is one user message.
type responseInput struct {
	set   bool // the field was present and not null
	items []respItem
}

// respItem is one input item as the mock keeps it.
type respItem struct {
	kind string // "message", "function_call_output", "function_call", ...
	role string // of a message
	text string // what the model "reads": message text, tool output, call arguments
	id   string // given by the client, or assigned when stored
	// content is a message's content parts as raw JSON; "" for a string
	// content, which is rendered as one text part.
	content []byte
	// raw is the whole item, for kinds the mock only echoes, and the
	// output of a function_call_output.
	raw    []byte
	callID string
	name   string
}

// rawItem is the union of the input item fields the mock reads.
type rawItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Output    json.RawMessage `json:"output"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
}

// contentPart is the part of a content part the mock reads.
type contentPart struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Refusal string `json:"refusal"`
}

func (in *responseInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return badInput("input", "Invalid type for 'input': expected a string or an array of input items.")
	case b[0] == 'n' && string(b) == "null":
		*in = responseInput{}
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return badInput("input", "Invalid type for 'input': expected a string or an array of input items.")
		}
		*in = responseInput{set: true, items: []respItem{{kind: "message", role: "user", text: s}}}
		return nil
	case b[0] != '[':
		return badInput("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return badInput("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	*in = responseInput{set: true, items: make([]respItem, 0, len(elems))}
	for i, e := range elems {
		it, err := readItem(e, "input["+strconv.Itoa(i)+"]")
		if err != nil {
			return err
		}
		in.items = append(in.items, it)
	}
	return nil
}

// readItem reads one input item; param names it in errors.
func readItem(e json.RawMessage, param string) (respItem, error) {
	var r rawItem
	if len(e) == 0 || e[0] != '{' || json.Unmarshal(e, &r) != nil {
		return respItem{}, badInput(param, "Invalid type for '"+param+"': expected an input item object.")
	}
	if r.Type == "" && r.Role != "" {
		r.Type = "message"
	}
	it := respItem{kind: r.Type, id: r.ID}
	switch r.Type {
	case "message":
		switch r.Role {
		case "user", "system", "developer", "assistant":
		case "":
			return respItem{}, badInput(param+".role", "Missing required parameter: '"+param+".role'.")
		default:
			return respItem{}, badInput(param+".role", "Invalid value: '"+r.Role+"'. Supported values are: 'user', 'system', 'developer' and 'assistant'.")
		}
		it.role = r.Role
		text, content, err := readContent(r.Content, param+".content")
		if err != nil {
			return respItem{}, err
		}
		it.text, it.content = text, content
	case "function_call_output":
		if r.CallID == "" {
			return respItem{}, badInput(param+".call_id", "Missing required parameter: '"+param+".call_id'.")
		}
		it.callID, it.raw = r.CallID, compactJSON(r.Output)
		var s string
		if json.Unmarshal(r.Output, &s) == nil {
			it.text = s
		} else {
			it.text = string(it.raw)
		}
	case "function_call":
		it.callID, it.name, it.text = r.CallID, r.Name, r.Arguments
	case "":
		return respItem{}, badInput(param+".type", "Missing required parameter: '"+param+".type'.")
	default:
		// Reasoning items, item references, other tools' calls and
		// outputs: the mock echoes them and reads them as text.
		it.raw = compactJSON(e)
		it.text = string(it.raw)
	}
	return it, nil
}

// readContent reads a message's content: a string, or content parts whose
// text parts the mock reads.
func readContent(b json.RawMessage, param string) (text string, parts []byte, err error) {
	b = bytes.TrimSpace(b)
	bad := badInput(param, "Invalid type for '"+param+"': expected a string or an array of content parts.")
	switch {
	case len(b) == 0:
		return "", nil, badInput(param, "Missing required parameter: '"+param+"'.")
	case b[0] == '"':
		if json.Unmarshal(b, &text) != nil {
			return "", nil, bad
		}
		return text, nil, nil
	case b[0] != '[':
		return "", nil, bad
	}
	var ps []contentPart
	if json.Unmarshal(b, &ps) != nil {
		return "", nil, bad
	}
	var t []byte
	for _, p := range ps {
		s := p.Text
		if p.Type == "refusal" {
			s = p.Refusal
		}
		if s == "" {
			continue
		}
		if len(t) > 0 {
			t = append(t, '\n')
		}
		t = append(t, s...)
	}
	return string(t), compactJSON(b), nil
}

// instructionsText is what the model reads of the instructions: the
// string, or the raw item list.
func instructionsText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// badInput is a 400 about param: missing_required_parameter when msg says
// it is missing, invalid_value when it names a bad value, else
// invalid_type.
func badInput(param, msg string) error {
	code := "invalid_type"
	switch {
	case strings.HasPrefix(msg, "Missing required parameter"):
		code = "missing_required_parameter"
	case strings.HasPrefix(msg, "Invalid value"):
		code = "invalid_value"
	}
	return &invalidFieldError{field: param, msg: msg, code: code}
}

// compactJSON returns b without insignificant whitespace, or "null" when
// b is empty.
func compactJSON(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("null")
	}
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return []byte("null")
	}
	return out.Bytes()
}
