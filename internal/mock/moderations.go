package mock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Moderations: POST .../moderations classifies each input. The mock flags
// on keywords (moderationWords): "kill" is violence, so tests can get a
// flagged result on demand; everything else scores near zero.

const defaultModerationModel = "omni-moderation-latest"

// moderationCategory is one category of OpenAI's moderation results.
type moderationCategory struct {
	name  string
	image bool // omni-moderation also scores images for it
}

var moderationCategories = []moderationCategory{
	{"hate", false}, {"hate/threatening", false}, {"harassment", false}, {"harassment/threatening", false},
	{"illicit", false}, {"illicit/violent", false},
	{"self-harm", true}, {"self-harm/intent", true}, {"self-harm/instructions", true},
	{"sexual", true}, {"sexual/minors", false}, {"violence", true}, {"violence/graphic", true},
}

// moderationWords flags categories when a text contains the word.
var moderationWords = []struct {
	word       string
	categories []string
}{
	{"kill", []string{"violence", "harassment/threatening"}},
	{"bomb", []string{"illicit", "illicit/violent", "violence"}},
	{"hate", []string{"hate"}},
	{"idiot", []string{"harassment"}},
	{"hurt myself", []string{"self-harm", "self-harm/intent"}},
}

type moderationRequest struct {
	Model string          `json:"model"`
	Input moderationInput `json:"input"`
}

// moderationInput is the input union: a string, strings (one result
// each), or multimodal parts (one result for all).
type moderationInput struct {
	set   bool
	items []moderationItem
}

type moderationItem struct {
	text  string
	image bool // the item has an image part
}

func (in *moderationInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	bad := badInput("input", "Invalid type for 'input': expected a string, an array of strings, or an array of text and image_url objects.")
	switch {
	case string(b) == "null":
		*in = moderationInput{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			return bad
		}
		*in = moderationInput{set: true, items: []moderationItem{{text: s}}}
		return nil
	case len(b) == 0 || b[0] != '[':
		return bad
	}
	var strs []string
	if json.Unmarshal(b, &strs) == nil {
		*in = moderationInput{set: true, items: make([]moderationItem, len(strs))}
		for i, s := range strs {
			in.items[i].text = s
		}
		return nil
	}
	var parts []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		ImageURL json.RawMessage `json:"image_url"`
	}
	if json.Unmarshal(b, &parts) != nil {
		return bad
	}
	var it moderationItem
	var texts []string
	for _, p := range parts {
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			it.image = true
		default:
			return badInput("input", "Invalid value: '"+p.Type+"'. Supported values are: 'text' and 'image_url'.")
		}
	}
	it.text = strings.Join(texts, "\n")
	*in = moderationInput{set: true, items: []moderationItem{it}}
	return nil
}

// moderate answers POST .../moderations.
func (c *call) moderate() {
	var req moderationRequest
	if !c.readBody(&req) {
		return
	}
	model := req.Model
	if c.route.shape == shapeAzure {
		model = c.route.name
	} else if model == "" {
		model = defaultModerationModel
	}
	switch {
	case !req.Input.set:
		badRequest(c.w, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
		return
	case len(req.Input.items) == 0:
		badRequest(c.w, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.", "input", "empty_array")
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	b = appendKV(b, "id", c.objectID("modr-", 0)[:5+32])
	b = append(b, ',')
	b = appendKV(b, "model", model)
	b = append(b, `,"results":[`...)
	for i, it := range req.Input.items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendModeration(b, it)
	}
	b = append(b, "]}"...)
	*bp = b
	c.writeBody(b)
}

// appendModeration appends the result for one input.
func appendModeration(b []byte, it moderationItem) []byte {
	text := strings.ToLower(it.text)
	flags := map[string]bool{}
	for _, w := range moderationWords {
		if strings.Contains(text, w.word) {
			for _, cat := range w.categories {
				flags[cat] = true
			}
		}
	}
	h := newHasher()
	h.add(it.text)
	b = append(b, `{"flagged":`...)
	b = strconv.AppendBool(b, len(flags) > 0)
	b = append(b, `,"categories":{`...)
	for i, cat := range moderationCategories {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, cat.name)
		b = append(b, ':')
		b = strconv.AppendBool(b, flags[cat.name])
	}
	b = append(b, `},"category_scores":{`...)
	for i, cat := range moderationCategories {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, cat.name)
		b = append(b, ':')
		// Flagged: 0.90 to 0.99; others: under 0.0001.
		jitter := float64(splitmix(uint64(h)+uint64(i))%100) / 100
		score := (1 + jitter) / 1e5
		if flags[cat.name] {
			score = 0.9 + jitter/10
		}
		b = strconv.AppendFloat(b, score, 'g', 6, 64)
	}
	b = append(b, `},"category_applied_input_types":{`...)
	for i, cat := range moderationCategories {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, cat.name)
		b = append(b, ":["...)
		types := 0
		if it.text != "" || !it.image {
			b = append(b, `"text"`...)
			types++
		}
		if it.image && cat.image {
			if types > 0 {
				b = append(b, ',')
			}
			b = append(b, `"image"`...)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}
