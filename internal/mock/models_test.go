package mock

import (
	"net/http"
	"testing"
)

func TestModel(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	type model struct {
		ID           string `json:"id"`
		Object       string `json:"object"`
		Created      int64  `json:"created"`
		CreatedAt    int64  `json:"created_at"`
		OwnedBy      string `json:"owned_by"`
		Status       string `json:"status"`
		Capabilities *struct {
			ChatCompletion bool `json:"chat_completion"`
			Completion     bool `json:"completion"`
			Embeddings     bool `json:"embeddings"`
			Inference      bool `json:"inference"`
			FineTune       bool `json:"fine_tune"`
		} `json:"capabilities"`
		LifecycleStatus string `json:"lifecycle_status"`
	}
	tests := []struct {
		name, path string
		wantStatus int
		azure      bool
	}{
		{"openai", "/v1/models/gpt-4o", 200, false},
		{"azure v1", "/openai/v1/models/gpt-4o", 200, false},
		{"azure", "/openai/models/gpt-4o" + azureQuery, 200, true},
		{"openai unknown", "/v1/models/gpt-9", 404, false},
		{"azure unknown", "/openai/models/gpt-9" + azureQuery, 404, true},
		{"azure without api-version", "/openai/models/gpt-4o", 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "GET", tt.path, "")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == http.StatusNotFound {
				e := decode[apiError](t, body).Error
				switch {
				case tt.azure && (e.Code == nil || *e.Code != "NotFound" || e.Type != nil):
					t.Errorf("body %s, want Azure's NotFound error", body)
				case !tt.azure && (e.Code == nil || *e.Code != "model_not_found" || e.Param == nil || *e.Param != "model"):
					t.Errorf("body %s, want OpenAI's model_not_found error", body)
				}
				return
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			got := decode[model](t, body)
			if got.ID != "gpt-4o" || got.Object != "model" {
				t.Errorf("id, object = %q, %q; want gpt-4o, model", got.ID, got.Object)
			}
			if tt.azure {
				if got.Status != "succeeded" || got.CreatedAt == 0 || got.Capabilities == nil || !got.Capabilities.ChatCompletion || !got.Capabilities.Inference || got.LifecycleStatus == "" {
					t.Errorf("got %s, want Azure's model shape with chat_completion", body)
				}
				return
			}
			if got.Created == 0 || got.OwnedBy != "system" {
				t.Errorf("got %s, want OpenAI's model shape", body)
			}
		})
	}
}

func TestAzureModelList(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	resp, body := fetch(t, ts, "GET", "/openai/models"+azureQuery, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	got := decode[struct {
		Object string `json:"object"`
		Data   []struct {
			ID           string          `json:"id"`
			Status       string          `json:"status"`
			Capabilities map[string]bool `json:"capabilities"`
		} `json:"data"`
	}](t, body)
	if got.Object != "list" || len(got.Data) != len(knownModels) {
		t.Fatalf("object %q with %d models, want list with %d", got.Object, len(got.Data), len(knownModels))
	}
	for _, m := range got.Data {
		if m.Status != "succeeded" || len(m.Capabilities) != 5 {
			t.Errorf("model %q: status %q capabilities %v; want succeeded and 5 capabilities", m.ID, m.Status, m.Capabilities)
		}
	}
}
