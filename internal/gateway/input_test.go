package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// checkErrorBody asserts an OpenAI-shaped error with all four fields.
func checkErrorBody(t *testing.T, body, wantCode string) {
	t.Helper()
	var got struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	for _, f := range []string{"message", "type", "param", "code"} {
		if _, ok := got.Error[f]; !ok {
			t.Errorf("error body %s lacks field %q", body, f)
		}
	}
	if got.Error["code"] != wantCode {
		t.Errorf("error code = %v, want %q", got.Error["code"], wantCode)
	}
	if msg, _ := got.Error["message"].(string); msg == "" {
		t.Errorf("error message is empty")
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, harnessOptions{maxBody: 1 << 10},
		&backend{id: "a", handler: okChat("a")},
		&backend{id: "emb", model: "text-embedding-3-small", class: "openai-embeddings", handler: okChat("emb")},
	)
	tests := []struct {
		name       string
		path       string
		body       string
		header     map[string]string // replaces the default auth when set
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"no key", "/v1/chat/completions", `{"model":"gpt-4o"}`, map[string]string{"X-None": "1"}, 401, "missing_api_key", "Authorization: Bearer"},
		{"wrong key", "/v1/chat/completions", `{"model":"gpt-4o"}`, map[string]string{"Authorization": "Bearer sk-nope"}, 401, "invalid_api_key", "invalid API key"},
		{"wrong azure key", "/openai/deployments/gpt-4o/chat/completions", `{}`, map[string]string{"api-key": "sk-nope"}, 401, "invalid_api_key", "invalid API key"},
		{"malformed JSON", "/v1/chat/completions", `{"model":"gpt-4o",`, nil, 400, "invalid_json", "not valid JSON"},
		{"not an object", "/v1/chat/completions", `["gpt-4o"]`, nil, 400, "invalid_json", "expected a JSON object"},
		{"model wrong type", "/v1/chat/completions", `{"model":4}`, nil, 400, "invalid_value", "model must be a string"},
		{"stream wrong type", "/v1/chat/completions", `{"model":"gpt-4o","stream":"yes"}`, nil, 400, "invalid_value", "stream must be"},
		{"no model", "/v1/chat/completions", `{"messages":[]}`, nil, 400, "missing_model", "GET /v1/models"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-5"}`, nil, 404, "model_not_found", "gpt-4o"},
		{"unknown azure deployment", "/openai/deployments/nope/chat/completions?api-version=2024-10-21", `{}`, nil, 404, "model_not_found", "nope"},
		{"too large", "/v1/chat/completions", `{"model":"gpt-4o","x":"` + strings.Repeat("a", 2000) + `"}`, nil, 413, "request_too_large", "max_body_bytes"},
		{"unknown route", "/v1/nope", `{}`, nil, 404, "unknown_route", "/v1/nope"},
		{"wrong method", "GET /v1/chat/completions", ``, nil, 405, "method_not_allowed", "takes POST"},
		{"wrong method on models", "POST /v1/models", ``, nil, 405, "method_not_allowed", "takes GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := http.MethodPost, tt.path
			if m, p, ok := strings.Cut(tt.path, " "); ok {
				method, path = m, p
			}
			req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(tt.body))
			if tt.header == nil {
				req.Header.Set("Authorization", "Bearer "+testKey)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			checkErrorBody(t, body, tt.wantCode)
			if !strings.Contains(body, tt.wantInMsg) {
				t.Errorf("body %s does not say %q", body, tt.wantInMsg)
			}
		})
	}
	if got := h.ups["a"].count(); got != 0 {
		t.Errorf("upstream saw %d bad requests, want 0", got)
	}
}

func TestTooLargeChunkedBody(t *testing.T) {
	h := newHarness(t, harnessOptions{maxBody: 100}, &backend{id: "a", handler: okChat("a")})
	// No Content-Length: the limit must hold while reading.
	pr := strings.NewReader(`{"model":"gpt-4o","x":"` + strings.Repeat("a", 500) + `"}`)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions", struct{ *strings.Reader }{pr})
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", resp.StatusCode)
	}
}

func TestListModels(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: okChat("a")},
		&backend{id: "emb", model: "text-embedding-3-small", class: "openai-embeddings", handler: okChat("emb")},
	)
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || got.Data[0].ID != "gpt-4o" || got.Data[1].ID != "text-embedding-3-small" {
		t.Errorf("models = %+v, want gpt-4o and text-embedding-3-small", got.Data)
	}
}
