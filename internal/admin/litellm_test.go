package admin_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
)

// modelInfo returns the /model/info entry with model_info.id == id, or nil.
func (e *env) modelInfo(path, id string) map[string]any {
	e.t.Helper()
	for _, m := range e.must(http.StatusOK, "GET", path, nil)["data"].([]any) {
		entry := m.(map[string]any)
		if entry["model_info"].(map[string]any)["id"] == id {
			return entry
		}
	}
	return nil
}

func TestLiteLLMRoundTrip(t *testing.T) {
	t.Setenv("AZURE_API_KEY", secret)
	file := fileDeployments(t, config.Deployment{ID: "file-emb", Model: "embed", Deployment: "text-embedding-3-small", Class: "openai-embeddings", Provider: "openai", APIKey: "sk-file"})
	e := newEnv(t, setup{config: file})

	// LiteLLM's documented call, with an api_base that is a URL (the docs'
	// "my-azure-api-base" is a placeholder, refused below).
	created := e.must(http.StatusOK, "POST", "/model/new", `{ "model_name": "azure-gpt-turbo", "litellm_params": {"model": "azure/gpt-35-turbo", "api_key": "os.environ/AZURE_API_KEY", "api_base": "https://my-azure.openai.azure.com", "rpm": 60, "timeout": 30}, "model_info": {"id": "turbo-1", "team": "red"} }`)
	wantRow := map[string]any{
		"model_id": "turbo-1", "model_name": "azure-gpt-turbo",
		"litellm_params": map[string]any{"model": "azure/gpt-35-turbo", "api_base": "https://my-azure.openai.azure.com", "api_version": "2024-10-21", "rpm": 60.0},
		"model_info":     map[string]any{"id": "turbo-1", "team": "red"},
		"created_by":     "default_user_id", "updated_by": "default_user_id",
	}
	if diff := cmp.Diff(wantRow, created, ignoreTimes); diff != "" {
		t.Errorf("/model/new mismatch (-want +got):\n%s", diff)
	}
	if s, err := e.store.GetDeployment(t.Context(), "turbo-1"); err != nil || s.APIKey != secret || s.Origin != "litellm" || s.Class != "openai-chat" {
		t.Errorf("stored %+v (err %v); want the key read from AZURE_API_KEY, origin litellm, class openai-chat", s, err)
	}

	wantInfo := map[string]any{
		"model_name":     "azure-gpt-turbo",
		"litellm_params": wantRow["litellm_params"],
		"model_info": map[string]any{
			"id": "turbo-1", "db_model": true, "team": "red", "key": "gpt-35-turbo", "mode": "chat", "litellm_provider": "azure",
			"max_tokens": 4096.0, "max_input_tokens": 16385.0, "max_output_tokens": 4096.0,
			"input_cost_per_token": 0.5e-6, "output_cost_per_token": 1.5e-6,
		},
	}
	for _, path := range []string{"/model/info", "/v1/model/info", "/model/info?litellm_model_id=turbo-1"} {
		if diff := cmp.Diff(wantInfo, e.modelInfo(path, "turbo-1")); diff != "" {
			t.Errorf("GET %s mismatch (-want +got):\n%s", path, diff)
		}
	}
	fileInfo := e.modelInfo("/model/info", "file-emb")
	if fileInfo == nil || fileInfo["model_info"].(map[string]any)["db_model"] != false ||
		fileInfo["litellm_params"].(map[string]any)["model"] != "openai/text-embedding-3-small" ||
		fileInfo["model_info"].(map[string]any)["mode"] != "embedding" {
		t.Errorf("config deployment in /model/info: %v; want db_model false, openai/text-embedding-3-small, mode embedding", fileInfo)
	}
	if got := e.must(http.StatusOK, "GET", "/model/info?litellm_model_id=file-emb", nil)["data"].([]any); len(got) != 1 {
		t.Errorf("?litellm_model_id=file-emb: %d entries, want 1", len(got))
	}

	// /model/update merges: tpm and a model_info key change, the rest stays,
	// the key too; custom prices override the built-in table's.
	updated := e.must(http.StatusOK, "POST", "/model/update", map[string]any{
		"litellm_params": map[string]any{"tpm": 1000, "api_key": nil},
		"model_info":     map[string]any{"id": "turbo-1", "base_model": "gpt-4o", "input_cost_per_token": 1e-6},
	})
	wantRow["litellm_params"].(map[string]any)["tpm"] = 1000.0
	wantRow["model_info"] = map[string]any{"id": "turbo-1", "team": "red", "base_model": "gpt-4o", "input_cost_per_token": 1e-6}
	if diff := cmp.Diff(wantRow, updated, ignoreTimes); diff != "" {
		t.Errorf("/model/update mismatch (-want +got):\n%s", diff)
	}
	if s, _ := e.store.GetDeployment(t.Context(), "turbo-1"); s.APIKey != secret || s.RPM != 60 || s.TPM != 1000 {
		t.Errorf("after update: key kept %v, rpm %d, tpm %d; want kept, 60, 1000", s.APIKey == secret, s.RPM, s.TPM)
	}
	info := e.modelInfo("/model/info", "turbo-1")["model_info"].(map[string]any)
	if info["key"] != "gpt-4o" || info["input_cost_per_token"] != 1e-6 || info["output_cost_per_token"] != 10e-6 || info["max_input_tokens"] != 128000.0 {
		t.Errorf("model_info after base_model gpt-4o and a custom input price: %v", info)
	}

	deleted := e.must(http.StatusOK, "POST", "/model/delete", map[string]any{"id": "turbo-1"})
	if diff := cmp.Diff(map[string]any{"message": "Model: turbo-1 deleted successfully"}, deleted); diff != "" {
		t.Errorf("/model/delete mismatch (-want +got):\n%s", diff)
	}
	if e.modelInfo("/model/info", "turbo-1") != nil {
		t.Errorf("turbo-1 still in /model/info after delete")
	}
	e.wantReloads(3)
}

func TestLiteLLMModels(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name   string
		params map[string]any
		info   map[string]any
		// What the deployment becomes, and litellm_params.model as shown.
		class, provider, deployment, endpoint, model string
	}{
		{"openai", map[string]any{"model": "openai/gpt-4o-mini"}, nil, "openai-chat", "openai", "gpt-4o-mini", "", "openai/gpt-4o-mini"},
		{"bare model", map[string]any{"model": "text-embedding-3-large"}, nil, "openai-embeddings", "openai", "text-embedding-3-large", "", "openai/text-embedding-3-large"},
		{"mode", map[string]any{"model": "azure/my-dalle", "api_base": "https://r.openai.azure.com"}, map[string]any{"mode": "image_generation"}, "openai-images", "azure", "my-dalle", "https://r.openai.azure.com", "azure/my-dalle"},
		{"azure text", map[string]any{"model": "azure_text/gpt-35-turbo-instruct", "api_base": "https://r.openai.azure.com"}, nil, "openai-completions", "azure", "gpt-35-turbo-instruct", "https://r.openai.azure.com", "azure_text/gpt-35-turbo-instruct"},
		{"realtime", map[string]any{"model": "azure/gpt-realtime", "api_base": "https://r.openai.azure.com"}, map[string]any{"mode": "realtime"}, "openai-realtime", "azure", "gpt-realtime", "https://r.openai.azure.com", "azure/gpt-realtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := e.must(http.StatusOK, "POST", "/model/new", map[string]any{"model_name": "m/" + tt.name, "litellm_params": tt.params, "model_info": tt.info})
			id := row["model_id"].(string)
			if !regexp.MustCompile(`^m-[a-z-]+-[0-9a-f]{6}$`).MatchString(id) {
				t.Errorf("generated id %q; want m-<name>-<6 hex digits>, usable in a path", id)
			}
			d := e.must(http.StatusOK, "GET", "/admin/v1/deployments/"+id, nil)
			if d["class"] != tt.class || d["provider"] != tt.provider || d["deployment"] != tt.deployment || d["endpoint"] != tt.endpoint {
				t.Errorf("stored %v; want class %s, provider %s, deployment %s, endpoint %q", d, tt.class, tt.provider, tt.deployment, tt.endpoint)
			}
			if got := row["litellm_params"].(map[string]any)["model"]; got != tt.model {
				t.Errorf("litellm_params.model %v, want %s", got, tt.model)
			}
		})
	}
}

func TestLiteLLMValidation(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name    string
		path    string
		body    any
		param   string
		message string
	}{
		{"docs placeholder api_base", "/model/new", `{ "model_name": "azure-gpt-turbo", "litellm_params": {"model": "azure/gpt-3.5-turbo", "api_key": "k", "api_base": "my-azure-api-base"} }`,
			"litellm_params.api_base", `litellm_params.api_base: invalid endpoint "my-azure-api-base"`},
		{"unset environment variable", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "openai/gpt-4o", "api_key": "os.environ/SPILLWAY_ADMIN_TEST_UNSET"}},
			"litellm_params.api_key", "litellm_params.api_key: environment variable SPILLWAY_ADMIN_TEST_UNSET is not set"},
		{"unsupported provider", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "bedrock/claude"}},
			"litellm_params.model", `litellm_params.model: unsupported provider "bedrock"; Spillway serves azure/<deployment> and openai/<model>`},
		{"unsupported mode", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "openai/rerank-v3"}, "model_info": map[string]any{"mode": "rerank"}},
			"model_info.mode", `model_info.mode: unsupported mode "rerank"`},
		{"no model_name", "/model/new", map[string]any{"litellm_params": map[string]any{"model": "openai/gpt-4o"}}, "model_name", "model_name: missing"},
		{"no litellm_params", "/model/new", map[string]any{"model_name": "x"}, "litellm_params", "litellm_params: missing"},
		{"no litellm_params.model", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"rpm": 1}}, "litellm_params.model", "litellm_params.model: missing"},
		{"wrong type", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "openai/gpt-4o", "rpm": "1"}}, "litellm_params.rpm", "litellm_params.rpm: want a number"},
		{"update without id", "/model/update", map[string]any{"litellm_params": map[string]any{"rpm": 1}}, "model_info.id", "model_info.id: missing"},
		{"delete without id", "/model/delete", map[string]any{}, "id", "id: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.mustErr(http.StatusBadRequest, "POST", tt.path, tt.body)
			if param(err) != tt.param || !strings.HasPrefix(err.Error.Message, tt.message) {
				t.Errorf("param %q, message %q; want %q, starting %q", param(err), err.Error.Message, tt.param, tt.message)
			}
		})
	}
	e.wantReloads(0)
}
