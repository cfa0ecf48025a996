package provider

import (
	"net/http"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		name       string
		d          config.Deployment
		op         Operation
		wantURL    string
		wantHeader string // "Name: value", or "" for none
		wantModel  string
		wantUsage  bool
	}{
		{"azure endpoint", config.Deployment{Provider: "azure", Endpoint: "https://eastus.openai.azure.com/", Deployment: "gpt-4o", APIVersion: "2024-10-21", APIKey: "k1"},
			Chat, "https://eastus.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "Api-Key: k1", "", true},
		{"azure resource name", config.Deployment{Provider: "azure", ResourceName: "westus", Deployment: "emb", APIVersion: "2024-10-21", APIKey: "k2"},
			Embeddings, "https://westus.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21", "Api-Key: k2", "", true},
		{"azure escapes the deployment name", config.Deployment{Provider: "azure", Endpoint: "http://127.0.0.1:9", Deployment: "my model", APIVersion: "2024-10-21"},
			Images, "http://127.0.0.1:9/openai/deployments/my%20model/images/generations?api-version=2024-10-21", "", "", true},
		{"azure extensions", config.Deployment{Provider: "azure", Endpoint: "http://h", Deployment: "d", APIVersion: "2024-10-21"},
			ExtensionsChat, "http://h/openai/deployments/d/extensions/chat/completions?api-version=2024-10-21", "", "", true},
		{"azure old api-version: no stream usage", config.Deployment{Provider: "azure", Endpoint: "http://h", Deployment: "d", APIVersion: "2024-02-01"},
			Chat, "http://h/openai/deployments/d/chat/completions?api-version=2024-02-01", "", "", false},
		{"openai default base", config.Deployment{Provider: "openai", Deployment: "gpt-4o-2024-08-06", APIKey: "sk-1"},
			Chat, "https://api.openai.com/v1/chat/completions", "Authorization: Bearer sk-1", "gpt-4o-2024-08-06", true},
		{"openai-compatible without a path gets /v1, no key no header", config.Deployment{Provider: "openai-compatible", Endpoint: "http://127.0.0.1:8000", Deployment: "llama"},
			Completions, "http://127.0.0.1:8000/v1/completions", "", "llama", true},
		{"openai-compatible keeps its path", config.Deployment{Provider: "openai-compatible", Endpoint: "http://ollama:11434/api/openai/v1/", Deployment: "m"},
			Embeddings, "http://ollama:11434/api/openai/v1/embeddings", "", "m", true},
		{"azure responses use the v1 API, the deployment in the body", config.Deployment{Provider: "azure", Endpoint: "https://e.openai.azure.com", Deployment: "gpt-4o-dep", APIVersion: "2024-10-21", APIKey: "k"},
			Responses, "https://e.openai.azure.com/openai/v1/responses", "Api-Key: k", "gpt-4o-dep", true},
		{"azure transcriptions under the deployment", config.Deployment{Provider: "azure", Endpoint: "https://e.openai.azure.com", Deployment: "whisper", APIVersion: "2024-10-21"},
			Transcriptions, "https://e.openai.azure.com/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21", "", "", true},
		{"openai responses", config.Deployment{Provider: "openai", Deployment: "gpt-4.1", APIKey: "sk"},
			Responses, "https://api.openai.com/v1/responses", "Authorization: Bearer sk", "gpt-4.1", true},
		{"openai moderations", config.Deployment{Provider: "openai", Deployment: "omni-moderation-latest"},
			Moderations, "https://api.openai.com/v1/moderations", "", "omni-moderation-latest", true},
		{"ai inference chat, the model in the body", config.Deployment{Provider: "azure-ai-inference", Endpoint: "https://r.services.ai.azure.com/models", Deployment: "Mistral-Large-2411", APIKey: "k"},
			Chat, "https://r.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview", "Api-Key: k", "Mistral-Large-2411", true},
		{"ai inference embeddings, its own api-version", config.Deployment{Provider: "azure-ai-inference", Endpoint: "https://r.services.ai.azure.com/models", Deployment: "cohere-embed", APIVersion: "2024-08-01-preview"},
			Embeddings, "https://r.services.ai.azure.com/models/embeddings?api-version=2024-08-01-preview", "", "cohere-embed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := NewTarget(tt.d)
			if err != nil {
				t.Fatalf("NewTarget: %v", err)
			}
			if got := tg.URL(tt.op).String(); got != tt.wantURL {
				t.Errorf("URL = %s, want %s", got, tt.wantURL)
			}
			h := http.Header{}
			tg.SetAuth(h)
			got := ""
			for k, v := range h {
				got = k + ": " + v[0]
			}
			if got != tt.wantHeader {
				t.Errorf("auth header = %q, want %q", got, tt.wantHeader)
			}
			if tg.ModelFor(tt.op) != tt.wantModel || tg.StreamUsage != tt.wantUsage {
				t.Errorf("ModelFor %q StreamUsage %v, want %q %v", tg.ModelFor(tt.op), tg.StreamUsage, tt.wantModel, tt.wantUsage)
			}
		})
	}
}

func TestTargetErrors(t *testing.T) {
	for _, d := range []config.Deployment{
		{Provider: "azure", Endpoint: "ftp://x", Deployment: "d"},
		{Provider: "azure", Endpoint: "not a url", Deployment: "d"},
		{Provider: "openai-compatible", Endpoint: "http://", Deployment: "d"},
		{Provider: "azure-ai-search", Endpoint: "not a url", Deployment: "d"},
		{Provider: "anthropic", Endpoint: "https://x", Deployment: "d"},
	} {
		if _, err := NewTarget(d); err == nil {
			t.Errorf("NewTarget(%+v) = nil error, want one", d)
		}
	}
}

func TestOperationClass(t *testing.T) {
	want := map[Operation]string{Chat: "openai-chat", ExtensionsChat: "openai-chat", Completions: "openai-completions", Embeddings: "openai-embeddings", Images: "openai-images",
		ImagesSubmit: "openai-images", ImageOperation: "openai-images", Search: "azure-ai-search", SearchDocs: "azure-ai-search"}
	for op, class := range want {
		if got := op.Class(); got != class {
			t.Errorf("%v.Class() = %s, want %s", op, got, class)
		}
	}
}

func TestSearchURL(t *testing.T) {
	tests := []struct {
		name  string
		d     config.Deployment
		op    Operation
		query string
		want  string
	}{
		{"post keeps the client's api-version", config.Deployment{Provider: "azure-ai-search", Endpoint: "https://s.search.windows.net", Deployment: "hotels"},
			Search, "api-version=2024-07-01", "https://s.search.windows.net/indexes/hotels/docs/search?api-version=2024-07-01"},
		{"pinned api-version replaces the client's", config.Deployment{Provider: "azure-ai-search", ResourceName: "s", Deployment: "hotels", APIVersion: "2023-11-01"},
			Search, "api-version=2024-07-01", "https://s.search.windows.net/indexes/hotels/docs/search?api-version=2023-11-01"},
		{"get forwards the query", config.Deployment{Provider: "azure-ai-search", Endpoint: "http://127.0.0.1:9/", Deployment: "hotels"},
			SearchDocs, "api-version=2024-07-01&search=wifi&$top=2", "http://127.0.0.1:9/indexes/hotels/docs?api-version=2024-07-01&search=wifi&$top=2"},
		{"get with a pinned version", config.Deployment{Provider: "azure-ai-search", Endpoint: "http://h", Deployment: "my index", APIVersion: "2024-07-01"},
			SearchDocs, "search=wifi", "http://h/indexes/my%20index/docs?api-version=2024-07-01&search=wifi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := NewTarget(tt.d)
			if err != nil {
				t.Fatalf("NewTarget: %v", err)
			}
			if got := tg.SearchURL(tt.op, tt.query).String(); got != tt.want {
				t.Errorf("SearchURL = %s, want %s", got, tt.want)
			}
			if tg.Serves(Chat) {
				t.Error("a search target serves chat")
			}
		})
	}
}

func TestImageOperationURLs(t *testing.T) {
	az, err := NewTarget(config.Deployment{Provider: "azure", Endpoint: "https://east.openai.azure.com", Deployment: "dalle2", APIVersion: "2023-06-01-preview", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := az.URL(ImagesSubmit).String(), "https://east.openai.azure.com/openai/images/generations:submit?api-version=2023-06-01-preview"; got != want {
		t.Errorf("submit URL = %s, want %s", got, want)
	}
	if got, want := az.ObjectURL(ImageOperation, "f0e1-22").String(), "https://east.openai.azure.com/openai/operations/images/f0e1-22?api-version=2023-06-01-preview"; got != want {
		t.Errorf("operation URL = %s, want %s", got, want)
	}
	oa, err := NewTarget(config.Deployment{Provider: "openai", Deployment: "dall-e-2"})
	if err != nil {
		t.Fatal(err)
	}
	if oa.Serves(ImagesSubmit) || oa.ObjectURL(ImageOperation, "x") != nil {
		t.Error("an openai target serves DALL-E 2 jobs; OpenAI has none")
	}
}

func TestOperationMethod(t *testing.T) {
	for op, want := range map[Operation]string{Chat: "POST", Search: "POST", SearchDocs: "GET", ImagesSubmit: "POST", ImageOperation: "GET"} {
		if got := op.Method(); got != want {
			t.Errorf("%v.Method() = %s, want %s", op, got, want)
		}
	}
}

func TestObjectURLs(t *testing.T) {
	az, err := NewTarget(config.Deployment{Provider: "azure", Endpoint: "https://e.openai.azure.com", Deployment: "d", APIVersion: "2024-10-21", Class: config.ClassChat})
	if err != nil {
		t.Fatal(err)
	}
	oa, err := NewTarget(config.Deployment{Provider: "openai", Deployment: "gpt-4.1", Class: config.ClassChat})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tg   *Target
		op   Operation
		want string
	}{
		{az, ResponseGet, "https://e.openai.azure.com/openai/v1/responses/resp_1"},
		{az, ResponseCancel, "https://e.openai.azure.com/openai/v1/responses/resp_1/cancel"},
		{oa, ResponseInputItems, "https://api.openai.com/v1/responses/resp_1/input_items"},
		{oa, ResponseDelete, "https://api.openai.com/v1/responses/resp_1"},
	}
	for _, tt := range tests {
		if got := tt.tg.ObjectURL(tt.op, "resp_1").String(); got != tt.want {
			t.Errorf("ObjectURL(%s) = %s, want %s", tt.op, got, tt.want)
		}
	}
}

func TestWhatATargetDoesNotServe(t *testing.T) {
	no := false
	tests := []struct {
		name string
		d    config.Deployment
		op   Operation
	}{
		{"azure has no moderations", config.Deployment{Provider: "azure", Endpoint: "http://h", Deployment: "d", APIVersion: "2024-10-21"}, Moderations},
		{"azure has no image variations", config.Deployment{Provider: "azure", Endpoint: "http://h", Deployment: "d", APIVersion: "2024-10-21"}, ImageVariations},
		{"responses: false", config.Deployment{Provider: "azure", Endpoint: "http://h", Deployment: "d", APIVersion: "2024-10-21", Class: config.ClassChat, Responses: &no}, Responses},
		{"responses: false, stored ones too", config.Deployment{Provider: "openai", Deployment: "d", Class: config.ClassChat, Responses: &no}, ResponseGet},
		{"ai inference has no responses", config.Deployment{Provider: "azure-ai-inference", Endpoint: "http://h/models", Deployment: "d", Class: config.ClassChat}, Responses},
		{"openai has no DALL-E 2 jobs", config.Deployment{Provider: "openai", Deployment: "d"}, ImagesSubmit},
	}
	for _, tt := range tests {
		tg, err := NewTarget(tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tg.Serves(tt.op) {
			t.Errorf("%s: Serves(%s) = true, want false", tt.name, tt.op)
		}
	}
}
