package mock

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The mock's "model" decides on its own, deterministically, when to call a
// function and what JSON to write: a request that offers function tools
// gets a function_call when tool_choice requires one (or names one), or
// when the last input item is a user message that mentions the weather or
// a tool's name. Arguments and structured outputs are generated from the
// JSON schema given, property by property in name order.

// weatherWord in the user's last message makes the mock call a tool.
const weatherWord = "weather"

// functionTool is the part of a tools entry the mock reads.
type functionTool struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters"`
}

// toolCall is the function the mock decided to call.
type toolCall struct {
	name      string
	arguments string
}

// toolChoice is a request's tool_choice: "auto", "none", "required", or
// a named function.
type toolChoice struct {
	mode string
	name string
}

func readToolChoice(raw json.RawMessage) toolChoice {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return toolChoice{mode: s}
	}
	var o struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Type == "function" && o.Name != "" {
		return toolChoice{mode: "required", name: o.Name}
	}
	return toolChoice{mode: "auto"}
}

// decideCall returns the function to call for a request offering tools
// with tool_choice tc and ending with the input items, or nil to answer
// with text.
func decideCall(tools json.RawMessage, tc toolChoice, items []respItem, seed uint64) *toolCall {
	var all []functionTool
	if json.Unmarshal(tools, &all) != nil {
		return nil
	}
	all = slices.DeleteFunc(all, func(t functionTool) bool { return t.Type != "function" || t.Name == "" })
	if len(all) == 0 || tc.mode == "none" {
		return nil
	}
	pick := -1
	switch {
	case tc.name != "":
		pick = slices.IndexFunc(all, func(t functionTool) bool { return t.Name == tc.name })
	case len(items) > 0 && items[len(items)-1].kind == "message" && items[len(items)-1].role == "user":
		text := strings.ToLower(items[len(items)-1].text)
		pick = slices.IndexFunc(all, func(t functionTool) bool { return strings.Contains(text, strings.ToLower(t.Name)) })
		if pick < 0 && strings.Contains(text, weatherWord) {
			pick = 0
		}
	}
	if pick < 0 && tc.mode == "required" {
		pick = 0
	}
	if pick < 0 {
		return nil
	}
	args := appendSchemaJSON(nil, all[pick].Parameters, "", seed, 0)
	if string(args) == "null" {
		args = []byte("{}")
	}
	return &toolCall{name: all[pick].Name, arguments: string(args)}
}

// schemaNode is the part of a JSON schema the generator reads.
type schemaNode struct {
	Type       json.RawMessage            `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
	Items      json.RawMessage            `json:"items"`
	Enum       []json.RawMessage          `json:"enum"`
	Const      json.RawMessage            `json:"const"`
	AnyOf      []json.RawMessage          `json:"anyOf"`
	OneOf      []json.RawMessage          `json:"oneOf"`
}

// maxSchemaDepth stops the generator on deep or recursive schemas.
const maxSchemaDepth = 8

// appendSchemaJSON appends a value valid for schema, named key in its
// parent object, chosen by seed. It always appends valid JSON, whatever
// the schema: what it cannot read becomes a string or null.
func appendSchemaJSON(b []byte, schema json.RawMessage, key string, seed uint64, depth int) []byte {
	var s schemaNode
	if depth > maxSchemaDepth || json.Unmarshal(schema, &s) != nil {
		return append(b, "null"...)
	}
	switch {
	case len(s.Const) > 0 && json.Valid(s.Const):
		return append(b, compactJSON(s.Const)...)
	case len(s.Enum) > 0 && json.Valid(s.Enum[0]):
		return append(b, compactJSON(s.Enum[0])...)
	case len(s.AnyOf) > 0:
		return appendSchemaJSON(b, s.AnyOf[0], key, seed, depth+1)
	case len(s.OneOf) > 0:
		return appendSchemaJSON(b, s.OneOf[0], key, seed, depth+1)
	}
	typ := schemaType(s.Type)
	if typ == "" && s.Properties != nil {
		typ = "object"
	}
	switch typ {
	case "object":
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		slices.Sort(names)
		b = append(b, '{')
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, name)
			b = append(b, ':')
			b = appendSchemaJSON(b, s.Properties[name], name, splitmix(seed+uint64(i)), depth+1)
		}
		return append(b, '}')
	case "array":
		b = append(b, '[')
		if len(s.Items) > 0 {
			b = appendSchemaJSON(b, s.Items, key, seed, depth+1)
		}
		return append(b, ']')
	case "integer":
		return strconv.AppendInt(b, int64(seed%100), 10)
	case "number":
		return strconv.AppendFloat(b, float64(seed%1000)/10, 'f', -1, 64)
	case "boolean":
		return strconv.AppendBool(b, seed%2 == 0)
	case "null":
		return append(b, "null"...)
	}
	return appendString(b, stringFor(key, seed))
}

// schemaType is the first type a schema allows: "type" is a name or a
// list of names.
func schemaType(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		for _, t := range list {
			if t != "null" {
				return t
			}
		}
	}
	return ""
}

// stringFor is a plausible string for a property named key.
func stringFor(key string, seed uint64) string {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "location") || strings.Contains(k, "city"):
		return "Boston, MA"
	case strings.Contains(k, "date"):
		return "2026-12-01"
	}
	return string(newAnswer(seed, 3).appendText(nil))
}

// jsonObjectText is the answer to text.format json_object.
func jsonObjectText(a answer) string {
	b := append([]byte(nil), `{"answer":"`...)
	b = a.appendText(b)
	return string(append(b, `"}`...))
}

// pieces splits s into stream deltas of about one token (charsPerToken
// bytes), never inside a UTF-8 sequence.
func pieces(s string) []string {
	out := make([]string, 0, len(s)/charsPerToken+1)
	for len(s) > 0 {
		n := min(charsPerToken, len(s))
		for n < len(s) && s[n]&0xc0 == 0x80 {
			n++
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// cutText returns the first tokens tokens of s (charsPerToken bytes
// each), never inside a UTF-8 sequence.
func cutText(s string, tokens int) string {
	if tokens >= approxTokens(s) {
		return s
	}
	n := max(tokens, 0) * charsPerToken
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// jsonFormat reports whether text.format asks for JSON, and returns
// its schema (nil for json_object).
func jsonFormat(text json.RawMessage) (schema json.RawMessage, ok bool) {
	var t struct {
		Format struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	}
	if json.Unmarshal(text, &t) != nil {
		return nil, false
	}
	switch t.Format.Type {
	case "json_schema":
		return bytes.TrimSpace(t.Format.Schema), true
	case "json_object":
		return nil, true
	}
	return nil, false
}
