package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type moderationResult struct {
	Flagged        bool                `json:"flagged"`
	Categories     map[string]bool     `json:"categories"`
	CategoryScores map[string]float64  `json:"category_scores"`
	AppliedTypes   map[string][]string `json:"category_applied_input_types"`
}

func TestModerations(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, path, body string
		wantModel        string
		wantFlagged      []bool
		wantImage        bool // violence applies to an image
	}{
		{"string", "/v1/moderations", `{"input":"I want to kill them."}`, defaultModerationModel, []bool{true}, false},
		{"strings", "/v1/moderations", `{"model":"omni-moderation-2024-09-26","input":["a calm river","I will kill the process"]}`, "omni-moderation-2024-09-26", []bool{false, true}, false},
		{"multimodal", "/v1/moderations", `{"input":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://example.com/x.png"}}]}`, defaultModerationModel, []bool{false}, true},
		{"azure v1", "/openai/v1/moderations", `{"input":"hello"}`, defaultModerationModel, []bool{false}, false},
		{"azure preview", "/openai/moderations" + azureQuery, `{"input":"hello"}`, defaultModerationModel, []bool{false}, false},
		{"azure deployment", "/openai/deployments/mod/moderations" + azureQuery, `{"input":"hello"}`, "mod", []bool{false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", tt.path, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d body %s", resp.StatusCode, body)
			}
			got := decode[struct {
				ID      string             `json:"id"`
				Model   string             `json:"model"`
				Results []moderationResult `json:"results"`
			}](t, body)
			if !strings.HasPrefix(got.ID, "modr-") || got.Model != tt.wantModel || len(got.Results) != len(tt.wantFlagged) {
				t.Fatalf("id %q model %q with %d results; want modr-..., %q, %d", got.ID, got.Model, len(got.Results), tt.wantModel, len(tt.wantFlagged))
			}
			for i, r := range got.Results {
				if r.Flagged != tt.wantFlagged[i] || r.Categories["violence"] != tt.wantFlagged[i] {
					t.Errorf("result %d: flagged %v violence %v, want %v", i, r.Flagged, r.Categories["violence"], tt.wantFlagged[i])
				}
				if len(r.Categories) != len(moderationCategories) || len(r.CategoryScores) != len(moderationCategories) || len(r.AppliedTypes) != len(moderationCategories) {
					t.Errorf("result %d has %d/%d/%d categories, want %d each", i, len(r.Categories), len(r.CategoryScores), len(r.AppliedTypes), len(moderationCategories))
				}
				if s := r.CategoryScores["violence"]; (s > 0.5) != tt.wantFlagged[i] {
					t.Errorf("result %d: violence score %v", i, s)
				}
				if got := strings.Join(r.AppliedTypes["violence"], ","); got != map[bool]string{false: "text", true: "text,image"}[tt.wantImage] {
					t.Errorf("result %d: violence applies to %q", i, got)
				}
				if got := strings.Join(r.AppliedTypes["hate"], ","); got != "text" {
					t.Errorf("result %d: hate applies to %q, want text", i, got)
				}
			}
		})
	}
	for _, body := range []string{`{}`, `{"input":[]}`, `{"input":7}`, `{"input":[{"type":"audio"}]}`} {
		if resp, b := fetch(t, ts, "POST", "/v1/moderations", body); resp.StatusCode != http.StatusBadRequest || !json.Valid(b) {
			t.Errorf("%s: status %d, want 400", body, resp.StatusCode)
		}
	}
}

// FuzzModerationInput feeds arbitrary JSON to the input reader: it must
// fail or give results that render as valid JSON.
func FuzzModerationInput(f *testing.F) {
	for _, s := range []string{`"kill"`, `["a","b"]`, `[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"u"}}]`, `[]`, `[1]`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var in moderationInput
		if json.Unmarshal([]byte(s), &in) != nil {
			return
		}
		for _, it := range in.items {
			if b := appendModeration(nil, it); !json.Valid(b) {
				t.Fatalf("input %s renders invalid JSON %s", s, b)
			}
		}
	})
}
