package mock

import "testing"

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/v1/chat/completions", route{ep: epChat, shape: shapeOpenAI}, true},
		{"/v1/models", route{ep: epModels, shape: shapeOpenAI}, true},
		{"/openai/v1/embeddings", route{ep: epEmbeddings, shape: shapeAzureV1}, true},
		{"/openai/deployments/gpt/chat/completions", route{ep: epChat, shape: shapeAzure, name: "gpt"}, true},
		{"/openai/deployments/gpt/extensions/chat/completions", route{ep: epChat, shape: shapeAzure, name: "gpt"}, true},
		{"/openai/deployments/gpt/completions", route{ep: epCompletions, shape: shapeAzure, name: "gpt"}, true},
		{"/openai/deployments/emb/embeddings", route{ep: epEmbeddings, shape: shapeAzure, name: "emb"}, true},
		{"/openai/deployments/dalle/images/generations", route{ep: epImages, shape: shapeAzure, name: "dalle"}, true},
		{"/openai/deployments/gpt/models", route{}, false},
		{"/openai/deployments//chat/completions", route{}, false},
		{"/openai/deployments/gpt/extensions/completions", route{}, false},
		{"/openai/images/generations:submit", route{ep: epImagesSubmit, shape: shapeAzure}, true},
		{"/openai/operations/images/abc", route{ep: epImageOperation, shape: shapeAzure, name: "abc"}, true},
		{"/indexes('docs')/docs/search.post.search", route{ep: epSearch, shape: shapeSearch, name: "docs"}, true},
		{"/mock/images/00ff00.png", route{ep: epImageFile, shape: shapeMock, name: "00ff00"}, true},
	}
	for _, tt := range tests {
		got, ok := parseRoute(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRoute(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
