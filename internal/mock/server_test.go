package mock

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const azureQuery = "?api-version=2024-10-21"

// TestRoutes sends a valid request to every route, in every URL shape, and
// checks the answer's kind and model.
func TestRoutes(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "east"})
	chat := chatBody("gpt-4o", "hello", "")
	completion := `{"model":"gpt-4o","prompt":"Say hi"}`
	embedding := `{"model":"text-embedding-3-small","input":"hi","encoding_format":"float"}`
	image := `{"model":"dall-e-3","prompt":"a lighthouse"}`
	search := `{"search":"lighthouse","top":2}`
	tests := []struct {
		name, method, path, body string
		wantObject, wantModel    string // of the answer, "" to skip
	}{
		{"openai chat", "POST", "/v1/chat/completions", chat, "chat.completion", "gpt-4o"},
		{"azure chat", "POST", "/openai/deployments/gpt4o-east/chat/completions" + azureQuery, chat, "chat.completion", "gpt4o-east"},
		{"azure extensions chat", "POST", "/openai/deployments/gpt4o-east/extensions/chat/completions?api-version=2023-08-01-preview", chat, "chat.completion", "gpt4o-east"},
		{"azure v1 chat", "POST", "/openai/v1/chat/completions", chat, "chat.completion", "gpt-4o"},
		{"azure v1 chat with api-version", "POST", "/openai/v1/chat/completions?api-version=preview", chat, "chat.completion", "gpt-4o"},
		{"openai completions", "POST", "/v1/completions", completion, "text_completion", "gpt-4o"},
		{"azure completions", "POST", "/openai/deployments/instruct/completions" + azureQuery, completion, "text_completion", "instruct"},
		{"azure v1 completions", "POST", "/openai/v1/completions", completion, "text_completion", "gpt-4o"},
		{"openai embeddings", "POST", "/v1/embeddings", embedding, "list", "text-embedding-3-small"},
		{"azure embeddings", "POST", "/openai/deployments/embed/embeddings" + azureQuery, embedding, "list", "embed"},
		{"azure v1 embeddings", "POST", "/openai/v1/embeddings", embedding, "list", "text-embedding-3-small"},
		{"openai images", "POST", "/v1/images/generations", image, "", ""},
		{"azure images", "POST", "/openai/deployments/dalle3/images/generations" + azureQuery, image, "", ""},
		{"azure v1 images", "POST", "/openai/v1/images/generations", image, "", ""},
		{"openai models", "GET", "/v1/models", "", "list", ""},
		{"azure v1 models", "GET", "/openai/v1/models", "", "list", ""},
		{"search", "POST", "/indexes/docs-idx/docs/search?api-version=2024-07-01", search, "", ""},
		{"search odata", "POST", "/indexes('docs-idx')/docs/search.post.search?api-version=2024-07-01", search, "", ""},
		{"search get", "GET", "/indexes/docs-idx/docs?api-version=2024-07-01&search=lighthouse&%24top=2", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, tt.method, tt.path, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("x-mock-name"), "east"; got != want {
				t.Errorf("x-mock-name = %q, want %q", got, want)
			}
			got := decode[struct {
				Object  string `json:"object"`
				Model   string `json:"model"`
				Created int64  `json:"created"`
				Data    []any  `json:"data"`
				Value   []struct {
					Score float64 `json:"@search.score"`
					ID    string  `json:"id"`
				} `json:"value"`
				Context string `json:"@odata.context"`
			}](t, body)
			if got.Object != tt.wantObject {
				t.Errorf("object = %q, want %q", got.Object, tt.wantObject)
			}
			if got.Model != tt.wantModel {
				t.Errorf("model = %q, want %q", got.Model, tt.wantModel)
			}
			if strings.Contains(tt.path, "images") && (len(got.Data) != 1 || got.Created == 0) {
				t.Errorf("images: got %d images created %d, want 1 image and a created time", len(got.Data), got.Created)
			}
			if strings.HasPrefix(tt.path, "/indexes") {
				if len(got.Value) != 2 || got.Value[0].Score != 1 || got.Value[0].ID != "1" {
					t.Errorf("search value = %+v, want 2 docs, the first with score 1 and id 1", got.Value)
				}
				if want := "/indexes('docs-idx')/$metadata#docs(*)"; !strings.HasSuffix(got.Context, want) {
					t.Errorf("@odata.context = %q, want suffix %q", got.Context, want)
				}
			}
		})
	}
}

func TestChatCompletion(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "west"})
	tests := []struct {
		name, extra  string
		wantWords    int
		wantFinish   string
		wantComplete int
	}{
		{"default length", "", DefaultAnswerTokens, "stop", DefaultAnswerTokens},
		{"max_tokens cuts", `"max_tokens":5`, 5, "length", 5},
		{"max_completion_tokens cuts", `"max_completion_tokens":7`, 7, "length", 7},
		{"max_completion_tokens wins", `"max_tokens":9,"max_completion_tokens":4`, 4, "length", 4},
		{"high limit", `"max_tokens":4096`, DefaultAnswerTokens, "stop", DefaultAnswerTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("gpt-4o-mini", "What is a spillway?", tt.extra))
			got := decode[chatCompletion](t, body)
			if !strings.HasPrefix(got.ID, "chatcmpl-west-") {
				t.Errorf("id = %q, want prefix chatcmpl-west-", got.ID)
			}
			if got, want := got.SystemFingerprint, "fp_west"; got != want {
				t.Errorf("system_fingerprint = %q, want %q", got, want)
			}
			if len(got.Choices) != 1 {
				t.Fatalf("got %d choices, want 1", len(got.Choices))
			}
			ch := got.Choices[0]
			if ch.Message.Role != "assistant" || ch.FinishReason != tt.wantFinish || words(ch.Message.Content) != tt.wantWords {
				t.Errorf("choice = role %q finish %q %d words, want assistant %q %d words", ch.Message.Role, ch.FinishReason, words(ch.Message.Content), tt.wantFinish, tt.wantWords)
			}
			if got.Usage.CompletionTokens != tt.wantComplete || got.Usage.PromptTokens <= 0 || got.Usage.TotalTokens != got.Usage.PromptTokens+got.Usage.CompletionTokens {
				t.Errorf("usage = %+v, want %d completion tokens and a consistent total", got.Usage, tt.wantComplete)
			}
		})
	}
}

func TestAnswersAreDeterministic(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	content := func(prompt string) string {
		_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("gpt-4o", prompt, ""))
		return decode[chatCompletion](t, body).Choices[0].Message.Content
	}
	a1, a2, b := content("first prompt"), content("first prompt"), content("second prompt")
	if a1 != a2 {
		t.Errorf("same prompt, different answers: %q and %q", a1, a2)
	}
	if a1 == b {
		t.Errorf("different prompts, same answer %q", a1)
	}
}

func TestPromptTokensGrowWithPrompt(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tokens := func(prompt string) int {
		_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("gpt-4o", prompt, ""))
		return decode[chatCompletion](t, body).Usage.PromptTokens
	}
	short, long := tokens("hi"), tokens(strings.Repeat("word ", 400))
	if got, want := long-short, 2000/charsPerToken-1; got != want {
		t.Errorf("2000 more characters added %d prompt tokens, want %d", got, want)
	}
}

func TestContentParts(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	plain := `{"model":"m","messages":[{"role":"user","content":"look\nhere"}]}`
	parts := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"here"}]}]}`
	_, b1 := fetch(t, ts, "POST", "/v1/chat/completions", plain)
	_, b2 := fetch(t, ts, "POST", "/v1/chat/completions", parts)
	c1, c2 := decode[chatCompletion](t, b1), decode[chatCompletion](t, b2)
	if diff := cmp.Diff(c1.Choices[0].Message.Content, c2.Choices[0].Message.Content); diff != "" {
		t.Errorf("text parts answered differently from the same text (-string +parts):\n%s", diff)
	}
}

func TestCompletions(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, prompt string
		wantPrompt   int
	}{
		{"string", `"abcdefgh"`, 2},
		{"strings", `["abcd","efgh"]`, 2},
		{"tokens", `[1,2,3]`, 3},
		{"token arrays", `[[1,2],[3,4,5]]`, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", "/v1/completions", `{"model":"gpt-35-turbo-instruct","max_tokens":6,"prompt":`+tt.prompt+`}`)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", resp.StatusCode, body)
			}
			got := decode[chatCompletion](t, body)
			if !strings.HasPrefix(got.ID, "cmpl-") || got.Object != "text_completion" {
				t.Errorf("id, object = %q, %q; want cmpl-..., text_completion", got.ID, got.Object)
			}
			if words(got.Choices[0].Text) != 6 || got.Choices[0].FinishReason != "length" {
				t.Errorf("choice = %q finish %q, want 6 words and length", got.Choices[0].Text, got.Choices[0].FinishReason)
			}
			if want := (usage{tt.wantPrompt, 6, tt.wantPrompt + 6}); got.Usage != want {
				t.Errorf("usage = %+v, want %+v", got.Usage, want)
			}
		})
	}
}

type embeddingList struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	} `json:"data"`
	Usage usage `json:"usage"`
}

// vector decodes a float array or a base64 little-endian float32 string.
func vector(t *testing.T, v any) []float32 {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x.(float64))
		}
		return out
	case string:
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("embedding is not base64: %v", err)
		}
		if len(raw)%4 != 0 {
			t.Fatalf("base64 embedding has %d bytes, not a multiple of 4", len(raw))
		}
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	}
	t.Fatalf("embedding has type %T", v)
	return nil
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbeddings(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, body string
		wantDims   int
		wantN      int
	}{
		{"default float", `{"model":"e","input":"hello"}`, DefaultDimensions, 1},
		{"dimensions", `{"model":"e","input":"hello","dimensions":256}`, 256, 1},
		{"base64", `{"model":"e","input":"hello","encoding_format":"base64"}`, DefaultDimensions, 1},
		{"base64 dimensions", `{"model":"e","input":"hello","dimensions":256,"encoding_format":"base64"}`, 256, 1},
		{"batch", `{"model":"e","input":["hello","world","hello"],"dimensions":8}`, 8, 3},
		{"tokens", `{"model":"e","input":[[1,2],[3]],"dimensions":8}`, 8, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", "/v1/embeddings", tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", resp.StatusCode, body)
			}
			got := decode[embeddingList](t, body)
			if got.Object != "list" || len(got.Data) != tt.wantN {
				t.Fatalf("object %q with %d embeddings, want list with %d", got.Object, len(got.Data), tt.wantN)
			}
			var vecs [][]float32
			for i, d := range got.Data {
				if d.Object != "embedding" || d.Index != i {
					t.Errorf("data[%d] = object %q index %d, want embedding %d", i, d.Object, d.Index, i)
				}
				v := vector(t, d.Embedding)
				if len(v) != tt.wantDims {
					t.Errorf("data[%d] has %d dimensions, want %d", i, len(v), tt.wantDims)
				}
				if n := norm(v); math.Abs(n-1) > 1e-3 {
					t.Errorf("data[%d] has norm %v, want 1", i, n)
				}
				vecs = append(vecs, v)
			}
			if got.Usage.PromptTokens <= 0 || got.Usage.TotalTokens != got.Usage.PromptTokens {
				t.Errorf("usage = %+v, want equal positive prompt and total tokens", got.Usage)
			}
			if tt.name == "batch" {
				if diff := cmp.Diff(vecs[0], vecs[2]); diff != "" {
					t.Errorf("equal inputs, different vectors:\n%s", diff)
				}
				if cmp.Equal(vecs[0], vecs[1]) {
					t.Error("different inputs, equal vectors")
				}
			}
		})
	}
}

func TestBase64MatchesFloat(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, fb := fetch(t, ts, "POST", "/v1/embeddings", `{"model":"e","input":"same","dimensions":32}`)
	_, bb := fetch(t, ts, "POST", "/v1/embeddings", `{"model":"e","input":"same","dimensions":32,"encoding_format":"base64"}`)
	f := vector(t, decode[embeddingList](t, fb).Data[0].Embedding)
	b := vector(t, decode[embeddingList](t, bb).Data[0].Embedding)
	if diff := cmp.Diff(f, b); diff != "" {
		t.Errorf("float and base64 encodings differ (-float +base64):\n%s", diff)
	}
}

func TestImages(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	type imageList struct {
		Created int64 `json:"created"`
		Data    []struct {
			URL           string `json:"url"`
			B64JSON       string `json:"b64_json"`
			RevisedPrompt string `json:"revised_prompt"`
		} `json:"data"`
	}
	t.Run("url", func(t *testing.T) {
		_, body := fetch(t, ts, "POST", "/v1/images/generations", `{"model":"dall-e-3","prompt":"a dam","n":3}`)
		got := decode[imageList](t, body)
		if len(got.Data) != 3 {
			t.Fatalf("got %d images, want 3", len(got.Data))
		}
		for i, d := range got.Data {
			if !strings.HasPrefix(d.URL, ts.URL+"/mock/images/") || d.B64JSON != "" || !strings.Contains(d.RevisedPrompt, "a dam") {
				t.Errorf("data[%d] = %+v, want a URL on this server and a revised prompt", i, d)
			}
			resp, img := fetch(t, ts, "GET", strings.TrimPrefix(d.URL, ts.URL), "")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("GET %s = %d %q, want 200 image/png", d.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if _, err := png.DecodeConfig(bytes.NewReader(img)); err != nil {
				t.Errorf("GET %s: not a PNG: %v", d.URL, err)
			}
		}
	})
	t.Run("b64_json", func(t *testing.T) {
		_, body := fetch(t, ts, "POST", "/v1/images/generations", `{"prompt":"a dam","n":2,"response_format":"b64_json"}`)
		got := decode[imageList](t, body)
		if len(got.Data) != 2 {
			t.Fatalf("got %d images, want 2", len(got.Data))
		}
		for i, d := range got.Data {
			raw, err := base64.StdEncoding.DecodeString(d.B64JSON)
			if err != nil || d.URL != "" {
				t.Fatalf("data[%d]: url %q, b64_json decode error %v; want only b64_json", i, d.URL, err)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(raw))
			if err != nil || cfg.Width != imageSide {
				t.Errorf("data[%d]: PNG config %+v, error %v; want a %dpx PNG", i, cfg, err, imageSide)
			}
		}
	})
}

func TestModels(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, body := fetch(t, ts, "GET", "/v1/models", "")
	got := decode[struct {
		Data []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}](t, body)
	var ids []string
	for _, m := range got.Data {
		if m.Object != "model" {
			t.Errorf("model %q has object %q, want model", m.ID, m.Object)
		}
		ids = append(ids, m.ID)
	}
	var want []string
	for _, m := range knownModels {
		want = append(want, m.id)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("model ids (-want +got):\n%s", diff)
	}
}

func TestSearch(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	type result struct {
		Count *int `json:"@odata.count"`
		Value []struct {
			Score   float64 `json:"@search.score"`
			ID      string  `json:"id"`
			Title   string  `json:"title"`
			Content string  `json:"content"`
		} `json:"value"`
	}
	_, post := fetch(t, ts, "POST", "/indexes/manuals/docs/search?api-version=2024-07-01", `{"search":"flood gate","top":4,"count":true}`)
	_, get := fetch(t, ts, "GET", "/indexes/manuals/docs?api-version=2024-07-01&search=flood+gate&$top=4&$count=true", "")
	p, g := decode[result](t, post), decode[result](t, get)
	if diff := cmp.Diff(p, g); diff != "" {
		t.Errorf("POST and GET answers differ (-post +get):\n%s", diff)
	}
	if len(p.Value) != 4 || p.Count == nil || *p.Count != 4 {
		t.Fatalf("got %d docs, count %v; want 4 and 4", len(p.Value), p.Count)
	}
	for i := 1; i < len(p.Value); i++ {
		if p.Value[i].Score >= p.Value[i-1].Score {
			t.Errorf("scores not decreasing: %v then %v", p.Value[i-1].Score, p.Value[i].Score)
		}
		if p.Value[i].Content == p.Value[i-1].Content {
			t.Errorf("documents %d and %d have the same content", i-1, i)
		}
	}
}

func TestErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string // exact, compacted; "" to check the fields below
		wantParam, wantCode      string
	}{
		{"unknown path", "POST", "/v1/nope", `{}`, 404, `{"error":{"message":"Invalid URL (POST /v1/nope)","type":"invalid_request_error","param":null,"code":null}}`, "", ""},
		{"unknown azure op", "POST", "/openai/deployments/d/nope" + azureQuery, `{}`, 404, "", "", ""},
		{"root", "GET", "/", "", 404, "", "", ""},
		{"bad odata index", "POST", "/indexes('x/docs/search", `{}`, 404, "", "", ""},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, "", "", ""},
		{"missing api-version", "POST", "/openai/deployments/d/chat/completions", chatBody("", "hi", ""), 400, MissingAPIVersionBody, "", ""},
		{"empty api-version", "POST", "/openai/deployments/d/chat/completions?api-version=", chatBody("", "hi", ""), 400, MissingAPIVersionBody, "", ""},
		{"not json", "POST", "/v1/chat/completions", `{"model":`, 400, invalidJSONBody, "", ""},
		{"wrong type", "POST", "/v1/chat/completions", `{"model":"m","messages":[],"max_tokens":"ten"}`, 400, "", "max_tokens", "invalid_type"},
		{"bad content", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":7}]}`, 400, "", "messages.content", "invalid_type"},
		{"no model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, `{"error":{"message":"you must provide a model parameter","type":"invalid_request_error","param":null,"code":null}}`, "", ""},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"m"}`, 400, "", "messages", "missing_required_parameter"},
		{"empty messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, "", "messages", "empty_array"},
		{"negative max_tokens", "POST", "/v1/chat/completions", chatBody("m", "hi", `"max_tokens":-1`), 400, "", "max_tokens", "integer_below_min_value"},
		{"no prompt", "POST", "/v1/completions", `{"model":"m"}`, 400, "", "prompt", "missing_required_parameter"},
		{"bad prompt", "POST", "/v1/completions", `{"model":"m","prompt":{}}`, 400, "", "prompt", "invalid_type"},
		{"no input", "POST", "/v1/embeddings", `{"model":"m"}`, 400, "", "input", "missing_required_parameter"},
		{"empty input", "POST", "/v1/embeddings", `{"model":"m","input":[]}`, 400, "", "input", "empty_array"},
		{"bad input", "POST", "/v1/embeddings", `{"model":"m","input":[true]}`, 400, "", "input", "invalid_type"},
		{"bad dimensions", "POST", "/v1/embeddings", `{"model":"m","input":"x","dimensions":-3}`, 400, "", "dimensions", "invalid_value"},
		{"bad encoding", "POST", "/v1/embeddings", `{"model":"m","input":"x","encoding_format":"hex"}`, 400, "", "encoding_format", "invalid_value"},
		{"no image prompt", "POST", "/v1/images/generations", `{"n":1}`, 400, "", "prompt", "missing_required_parameter"},
		{"too many images", "POST", "/v1/images/generations", `{"prompt":"x","n":11}`, 400, "", "n", "invalid_value"},
		{"bad image format", "POST", "/v1/images/generations", `{"prompt":"x","response_format":"gif"}`, 400, "", "response_format", "invalid_value"},
		{"bad image file", "GET", "/mock/images/zzz.png", "", 404, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != "" {
				if diff := cmp.Diff(compact(t, tt.wantBody), string(body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			got := decode[apiError](t, body)
			e := got.Error
			if e.Message == "" || e.Type == nil || *e.Type != "invalid_request_error" {
				t.Errorf("error = %s, want an OpenAI-shaped invalid_request_error with a message", body)
			}
			param, code := "", ""
			if e.Param != nil {
				param = *e.Param
			}
			if e.Code != nil {
				code = *e.Code
			}
			if param != tt.wantParam || code != tt.wantCode {
				t.Errorf("param, code = %q, %q; want %q, %q", param, code, tt.wantParam, tt.wantCode)
			}
		})
	}
}

func TestWrongMethodNamesAllowed(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	resp, _ := fetch(t, ts, "POST", "/v1/models", `{}`)
	if got, want := resp.Header.Get("Allow"), "GET"; resp.StatusCode != 405 || got != want {
		t.Errorf("POST /v1/models = %d Allow %q, want 405 Allow %q", resp.StatusCode, got, want)
	}
}

func TestRequireKey(t *testing.T) {
	_, ts := newTestServer(t, Options{RequireKey: "sk-right"})
	chat := chatBody("gpt-4o", "hi", "")
	tests := []struct {
		name       string
		header     []string
		wantStatus int
	}{
		{"no key", nil, 401},
		{"wrong api-key", []string{"api-key", "sk-wrong"}, 401},
		{"wrong bearer", []string{"Authorization", "Bearer sk-wrong"}, 401},
		{"basic auth", []string{"Authorization", "Basic sk-right"}, 401},
		{"api-key", []string{"api-key", "sk-right"}, 200},
		{"bearer", []string{"Authorization", "Bearer sk-right"}, 200},
		{"lowercase bearer", []string{"Authorization", "bearer sk-right"}, 200},
		{"wrong api-key, right bearer", []string{"api-key", "sk-wrong", "Authorization", "Bearer sk-right"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", "/v1/chat/completions", chat, tt.header...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 401 {
				if diff := cmp.Diff(Azure401Body, string(body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAnyKeyAccepted(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	for _, h := range [][]string{nil, {"api-key", "whatever"}, {"Authorization", "Bearer sk-x"}} {
		if resp, _ := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "hi", ""), h...); resp.StatusCode != 200 {
			t.Errorf("headers %q: status %d, want 200", h, resp.StatusCode)
		}
	}
}

func TestRequests(t *testing.T) {
	m, ts := newTestServer(t, Options{})
	fetch(t, ts, "GET", "/v1/models", "")
	fetch(t, ts, "GET", "/nowhere", "")
	fetch(t, ts, "POST", "/v1/chat/completions", "{")
	if got, want := m.Requests(), int64(3); got != want {
		t.Errorf("Requests() = %d, want %d", got, want)
	}
}

func TestNameIsEscaped(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: `we"ird`})
	_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "hi", ""))
	got := decode[chatCompletion](t, body)
	if want := `fp_we"ird`; got.SystemFingerprint != want {
		t.Errorf("system_fingerprint = %q, want %q", got.SystemFingerprint, want)
	}
}

func TestAppendString(t *testing.T) {
	tests := []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\n\r\t\x1f", "<a&b>", "é ü 中文", "bad \xff utf8", "sep \u2028 \u2029"}
	for _, s := range tests {
		got := string(appendString(nil, s))
		want, _ := jsonMarshalString(s)
		if got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestReadAll(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		n, limit  int64
		wantErr   error
		wantBytes int
	}{
		{"known length", "0123456789", 10, 100, nil, 10},
		{"unknown length", "0123456789", -1, 100, nil, 10},
		{"wrong length hint", "0123456789", 3, 100, nil, 10},
		{"at the limit", "0123456789", 10, 10, nil, 10},
		{"over the limit", "0123456789", 10, 9, errTooLarge, 10},
		{"big", strings.Repeat("x", 100_000), -1, 1 << 20, nil, 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(make([]byte, 0, 4), strings.NewReader(tt.body), tt.n, tt.limit)
			if err != tt.wantErr {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != tt.body {
				t.Errorf("read %d bytes, want %d", len(got), tt.wantBytes)
			}
		})
	}
}

func TestUnvalidatedFaultDoesNotPanic(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{{Kind: FaultStatus}}})
	if resp, _ := fetch(t, ts, "GET", "/v1/models", ""); resp.StatusCode != 500 {
		t.Errorf("status = %d, want 500 for a status fault without a status", resp.StatusCode)
	}
}

// TestRequestID: every answer names its request as OpenAI's x-request-id
// does, an id of its own on every request and on every server.
func TestRequestID(t *testing.T) {
	format := regexp.MustCompile(`^req_[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for _, s := range []*Server{New(Options{}), New(Options{})} {
		srv := httptest.NewServer(s)
		for _, path := range []string{"/v1/chat/completions", "/v1/chat/completions", "/v1/nowhere"} {
			resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if !format.MatchString(id) {
				t.Errorf("%s: X-Request-Id %q, want req_ and 32 hex digits", path, id)
			}
			if seen[id] {
				t.Errorf("%s: X-Request-Id %q given twice", path, id)
			}
			seen[id] = true
		}
		srv.Close()
	}
}
