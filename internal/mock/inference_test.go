package mock

import (
	"net/http"
	"strings"
	"testing"
)

func TestInference(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	chat := chatBody("mistral-large", "hi", "")
	tests := []struct {
		name, path, body string
		header           []string
		wantStatus       int
		wantModel        string
		wantMessage      string // in the error
	}{
		{"chat", "/models/chat/completions", chat, nil, 200, "mistral-large", ""},
		{"chat with api-version", "/models/chat/completions?api-version=2024-05-01-preview", chat, nil, 200, "mistral-large", ""},
		{"model from the header", "/models/chat/completions", chatBody("", "hi", ""), []string{"azureml-model-deployment", "phi-4"}, 200, "phi-4", ""},
		{"no model", "/models/chat/completions", chatBody("", "hi", ""), nil, 400, "", "model"},
		{"embeddings", "/models/embeddings", `{"model":"cohere-embed","input":"hi","input_type":"query","dimensions":8}`, nil, 200, "cohere-embed", ""},
		{"extra parameter", "/models/chat/completions", chatBody("m", "hi", `"n":2,"logit_bias":{}`), nil, 400, "", "Extra parameters ['logit_bias', 'n'] are not allowed"},
		{"extra parameter, error mode", "/models/embeddings", `{"model":"m","input":"hi","user":"u"}`, []string{"extra-parameters", "error"}, 400, "", "Extra parameters ['user']"},
		{"extra parameter passed through", "/models/chat/completions", chatBody("m", "hi", `"n":2`), []string{"extra-parameters", "pass-through"}, 200, "m", ""},
		{"extra parameter dropped", "/models/chat/completions", chatBody("m", "hi", `"n":2`), []string{"extra-parameters", "drop"}, 200, "m", ""},
		{"bad mode", "/models/chat/completions", chat, []string{"extra-parameters", "ignore"}, 400, "", "Unexpected EXTRA_PARAMETERS option ignore"},
		{"openai ignores the header", "/v1/chat/completions", chatBody("m", "hi", `"n":2`), []string{"extra-parameters", "error"}, 200, "m", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", tt.path, tt.body, tt.header...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != http.StatusOK {
				if !strings.Contains(string(body), tt.wantMessage) {
					t.Errorf("body %s, want it to mention %q", body, tt.wantMessage)
				}
				return
			}
			if got := decode[struct{ Model string }](t, body).Model; got != tt.wantModel {
				t.Errorf("model = %q, want %q", got, tt.wantModel)
			}
		})
	}
}
