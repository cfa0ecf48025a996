package mock

import (
	"bytes"
	"encoding/json"
)

// textInput is the union OpenAI accepts for a completions prompt and an
// embeddings input: a string, an array of strings, an array of token ids,
// or an array of token-id arrays.
type textInput struct {
	set   bool // the field was present and not null
	items []inputItem
}

// inputItem is one prompt or one text to embed.
type inputItem struct {
	tokens int    // approximate token count
	seed   uint64 // hash of the content, seeds the generated output
}

func stringItem(s string) inputItem {
	h := newHasher()
	h.add(s)
	return inputItem{tokens: approxTokens(s), seed: uint64(h)}
}

func tokensItem(ids []int64) inputItem {
	h := newHasher()
	for _, id := range ids {
		h.addUint(uint64(id))
	}
	return inputItem{tokens: len(ids), seed: uint64(h)}
}

func (in *textInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	bad := &invalidFieldError{field: "input", msg: "Invalid 'input': expected a string, an array of strings, an array of tokens or an array of token arrays."}
	if len(b) == 0 {
		return bad
	}
	switch b[0] {
	case 'n':
		*in = textInput{}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return bad
		}
		*in = textInput{set: true, items: []inputItem{stringItem(s)}}
		return nil
	case '[':
	default:
		return bad
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return bad
	}
	*in = textInput{set: true}
	if len(elems) > 0 && (elems[0][0] == '-' || (elems[0][0] >= '0' && elems[0][0] <= '9')) {
		var ids []int64
		if err := json.Unmarshal(b, &ids); err != nil {
			return bad
		}
		in.items = []inputItem{tokensItem(ids)}
		return nil
	}
	in.items = make([]inputItem, 0, len(elems))
	for _, e := range elems {
		switch e[0] {
		case '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return bad
			}
			in.items = append(in.items, stringItem(s))
		case '[':
			var ids []int64
			if err := json.Unmarshal(e, &ids); err != nil {
				return bad
			}
			in.items = append(in.items, tokensItem(ids))
		default:
			return bad
		}
	}
	return nil
}
