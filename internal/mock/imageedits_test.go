package mock

import (
	"net/http"
	"strings"
	"testing"
)

func TestImageEdits(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	png := formPart{name: "image", filename: "in.png", value: "\x89PNG one"}
	type imageList struct {
		Created int64 `json:"created"`
		Data    []struct {
			URL     string `json:"url"`
			B64JSON string `json:"b64_json"`
		} `json:"data"`
	}
	tests := []struct {
		name, path string
		parts      []formPart
		wantN      int
		wantB64    bool
	}{
		{"edit", "/v1/images/edits", []formPart{png, {name: "prompt", value: "add a boat"}}, 1, false},
		{"edit images[] and mask", "/v1/images/edits", []formPart{{name: "image[]", filename: "a.png", value: "a"}, {name: "image[]", filename: "b.png", value: "b"}, {name: "mask", filename: "m.png", value: "m"}, {name: "prompt", value: "merge"}, {name: "n", value: "2"}, {name: "model", value: "gpt-image-1"}}, 2, false},
		{"edit b64", "/v1/images/edits", []formPart{png, {name: "prompt", value: "add a boat"}, {name: "response_format", value: "b64_json"}}, 1, true},
		{"variation", "/v1/images/variations", []formPart{png, {name: "n", value: "3"}, {name: "size", value: "256x256"}}, 3, false},
		{"azure v1 edit", "/openai/v1/images/edits", []formPart{png, {name: "prompt", value: "x"}}, 1, false},
		{"azure deployment edit", "/openai/deployments/dalle/images/edits" + azureQuery, []formPart{png, {name: "prompt", value: "x"}}, 1, false},
		{"azure preview variation", "/openai/images/variations" + azureQuery, []formPart{png}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postForm(t, ts, ts.URL+tt.path, tt.parts...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d body %s", resp.StatusCode, body)
			}
			got := decode[imageList](t, body)
			if len(got.Data) != tt.wantN || got.Created == 0 {
				t.Fatalf("got %d images, created %d; want %d", len(got.Data), got.Created, tt.wantN)
			}
			for _, d := range got.Data {
				if (d.B64JSON != "") != tt.wantB64 || (d.URL != "") == tt.wantB64 || (d.URL != "" && !strings.Contains(d.URL, "/mock/images/")) {
					t.Errorf("image %+v, want b64_json %v", d, tt.wantB64)
				}
			}
		})
	}
}

func TestImageEditErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	png := formPart{name: "image", filename: "in.png", value: "x"}
	tests := []struct {
		name, path          string
		parts               []formPart
		wantParam, wantCode string
	}{
		{"no image", "/v1/images/edits", []formPart{{name: "prompt", value: "x"}}, "image", "missing_required_parameter"},
		{"no prompt", "/v1/images/edits", []formPart{png}, "prompt", "missing_required_parameter"},
		{"variation takes image only", "/v1/images/variations", []formPart{{name: "image[]", filename: "a.png", value: "a"}}, "image", "missing_required_parameter"},
		{"bad n", "/v1/images/variations", []formPart{png, {name: "n", value: "two"}}, "n", "invalid_type"},
		{"too many", "/v1/images/variations", []formPart{png, {name: "n", value: "11"}}, "n", "invalid_value"},
		{"bad format", "/v1/images/variations", []formPart{png, {name: "response_format", value: "gif"}}, "response_format", "invalid_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postForm(t, ts, ts.URL+tt.path, tt.parts...)
			e := decode[apiError](t, body).Error
			if resp.StatusCode != http.StatusBadRequest || e.Param == nil || *e.Param != tt.wantParam || e.Code == nil || *e.Code != tt.wantCode {
				t.Errorf("status %d body %s, want 400 with param %q code %q", resp.StatusCode, body, tt.wantParam, tt.wantCode)
			}
		})
	}
}
