package mock

import "testing"

func TestParseRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         route
		wantAllow    string // when the path is known but not the method
		ok           bool
	}{
		{"POST", "/v1/chat/completions", route{ep: epChat, shape: shapeOpenAI}, "", true},
		{"GET", "/v1/chat/completions", route{}, "POST", false},
		{"GET", "/v1/models", route{ep: epModels, shape: shapeOpenAI}, "", true},
		{"POST", "/v1/models", route{}, "GET", false},
		{"GET", "/v1/models/gpt-4o", route{ep: epModel, shape: shapeOpenAI, id: "gpt-4o"}, "", true},
		{"GET", "/v1/models/", route{}, "", false},
		{"GET", "/v1/models/a/b", route{}, "", false},
		{"POST", "/openai/v1/embeddings", route{ep: epEmbeddings, shape: shapeAzureV1}, "", true},
		{"GET", "/openai/v1/models/gpt-4o", route{ep: epModel, shape: shapeAzureV1, id: "gpt-4o"}, "", true},
		{"GET", "/openai/models", route{ep: epModels, shape: shapeAzurePreview}, "", true},
		{"GET", "/openai/models/gpt-4o", route{ep: epModel, shape: shapeAzurePreview, id: "gpt-4o"}, "", true},
		{"POST", "/openai/deployments/gpt/chat/completions", route{ep: epChat, shape: shapeAzure, name: "gpt"}, "", true},
		{"POST", "/openai/deployments/gpt/extensions/chat/completions", route{ep: epChat, shape: shapeAzure, name: "gpt"}, "", true},
		{"POST", "/openai/deployments/gpt/completions", route{ep: epCompletions, shape: shapeAzure, name: "gpt"}, "", true},
		{"POST", "/openai/deployments/emb/embeddings", route{ep: epEmbeddings, shape: shapeAzure, name: "emb"}, "", true},
		{"POST", "/openai/deployments/dalle/images/generations", route{ep: epImages, shape: shapeAzure, name: "dalle"}, "", true},
		{"GET", "/openai/deployments/gpt/models", route{}, "", false},
		{"POST", "/openai/deployments//chat/completions", route{}, "", false},
		{"POST", "/openai/deployments/gpt/extensions/completions", route{}, "", false},
		{"POST", "/openai/chat/completions", route{}, "", false},
		{"POST", "/openai/images/generations:submit", route{ep: epImagesSubmit, shape: shapeAzurePreview}, "", true},
		{"GET", "/openai/operations/images/abc", route{ep: epImageOperation, shape: shapeAzurePreview, id: "abc"}, "", true},
		{"GET", "/openai/operations/images/", route{}, "", false},
		{"POST", "/models/chat/completions", route{ep: epChat, shape: shapeInference}, "", true},
		{"POST", "/models/embeddings", route{ep: epEmbeddings, shape: shapeInference}, "", true},
		{"GET", "/models/embeddings", route{}, "POST", false},
		{"POST", "/models/completions", route{}, "", false},
		{"POST", "/indexes('docs')/docs/search.post.search", route{ep: epSearch, shape: shapeSearch, name: "docs"}, "", true},
		{"GET", "/indexes/docs/docs", route{ep: epSearchDocs, shape: shapeSearch, name: "docs"}, "", true},
		{"GET", "/mock/images/00ff00.png", route{ep: epImageFile, shape: shapeMock, id: "00ff00"}, "", true},
		{"POST", "/mock/images/00ff00.png", route{}, "GET", false},
	}
	for _, tt := range tests {
		got, allow, ok := parseRoute(tt.method, tt.path)
		if got != tt.want || allow != tt.wantAllow || ok != tt.ok {
			t.Errorf("parseRoute(%s %q) = %+v, %q, %v; want %+v, %q, %v", tt.method, tt.path, got, allow, ok, tt.want, tt.wantAllow, tt.ok)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, path, wantID string
		ok                    bool
	}{
		{"models", "models", "", true},
		{"models", "models/", "", false},
		{"models/{id}", "models/x", "x", true},
		{"models/{id}", "models/", "", false},
		{"models/{id}", "models", "", false},
		{"responses/{id}/cancel", "responses/r1/cancel", "r1", true},
		{"responses/{id}/cancel", "responses/r1/cancel/", "", false},
		{"responses/{id}/cancel", "responses//cancel", "", false},
		{"a/b", "a/c", "", false},
		{"", "", "", true},
	}
	for _, tt := range tests {
		id, ok := matchPattern(tt.pattern, tt.path)
		if id != tt.wantID || ok != tt.ok {
			t.Errorf("matchPattern(%q, %q) = %q, %v; want %q, %v", tt.pattern, tt.path, id, ok, tt.wantID, tt.ok)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{"/v1/responses/resp_1/input_items", "/openai/deployments/d/audio/speech", "/openai/models/x", "/indexes('i')/docs", "/mock/images/abcdef.png", "/models/chat/completions"} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, allow, ok := parseRoute(method, path)
		if ok {
			if allow != "" || rt.ep == 0 || rt.ep >= epCount || ops[rt.ep].method != method {
				t.Fatalf("parseRoute(%q, %q) = %+v, %q, true: inconsistent", method, path, rt, allow)
			}
			return
		}
		if rt != (route{}) {
			t.Fatalf("parseRoute(%q, %q) failed but returned %+v", method, path, rt)
		}
	})
}

func TestOpsTableComplete(t *testing.T) {
	for ep := endpoint(1); ep < epCount; ep++ {
		o := ops[ep]
		if o.method == "" || o.shapes == 0 || (o.serve == nil && ep != epImageFile) || (o.azureName == "" && ep != epImageFile) {
			t.Errorf("ops[%d] = %+v: want a method, shapes, a handler and an Azure name", ep, o)
		}
	}
}
