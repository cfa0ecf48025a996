package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
)

// recorder is an upstream that keeps what it got and answers with a fixed
// JSON body.
type recorder struct {
	mu      sync.Mutex
	path    string
	ctype   string
	headers http.Header
	body    []byte
	answer  string
}

func (u *recorder) handler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.path, u.ctype, u.headers, u.body = r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Clone(), b
	answer := u.answer
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
}

func (u *recorder) got() (path, ctype string, h http.Header, body []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.path, u.ctype, u.headers, u.body
}

// multipartForm builds a multipart body with the fields, and a file of size bytes
// when size >= 0.
func multipartForm(t testing.TB, fields map[string]string, size int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if size >= 0 {
		fw, err := mw.CreateFormFile("file", "speech.mp3")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(bytes.Repeat([]byte{0xff}, size))
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func (h *harness) send(method, path, ctype string, body []byte) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", ctype)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(h.t, resp.Body)
}

func TestTranscriptions(t *testing.T) {
	recs := newRecords()
	az := &recorder{answer: `{"text":"hello","usage":{"type":"tokens","input_tokens":14,"input_token_details":{"text_tokens":0,"audio_tokens":14},"output_tokens":45,"total_tokens":59}}`}
	oa := &recorder{answer: `{"text":"hello","usage":{"type":"duration","seconds":9}}`}
	h := newHarness(t, harnessOptions{recorder: recs},
		&backend{id: "az", model: "gpt-4o-transcribe", class: config.ClassAudio, handler: az.handler, upName: "transcribe-dep"},
		&backend{id: "oa", model: "whisper", class: config.ClassAudio, provider: config.ProviderOpenAI, handler: oa.handler, upName: "whisper-1"})

	ctype, body := multipartForm(t, map[string]string{"model": "gpt-4o-transcribe", "response_format": "json"}, 2048)
	status, answer := h.send(http.MethodPost, "/v1/audio/transcriptions", ctype, body)
	if status != http.StatusOK {
		t.Fatalf("transcription: status %d, body %s", status, answer)
	}
	path, gotType, _, gotBody := az.got()
	if want := "/openai/deployments/transcribe-dep/audio/transcriptions?api-version=" + config.DefaultAPIVersion; path != want {
		t.Errorf("upstream path %s, want %s", path, want)
	}
	if gotType != ctype || !bytes.Equal(gotBody, body) {
		t.Errorf("the multipart body reached the upstream changed (type %q, %d bytes; want %q, %d bytes)", gotType, len(gotBody), ctype, len(body))
	}
	if rec := recs.wait(t, 1); rec.Endpoint != "transcriptions" || rec.PromptTokens != 14 || rec.CompletionTokens != 45 || rec.Estimated {
		t.Errorf("usage record %+v, want transcriptions with 14 input and 45 output tokens", rec)
	}

	// An OpenAI upstream gets its own model name in the form, the rest
	// byte for byte; Azure style names the model in the URL.
	ctype, body = multipartForm(t, map[string]string{"model": "whisper"}, 100)
	if status, answer := h.send(http.MethodPost, "/openai/deployments/whisper/audio/translations?api-version=2024-10-21", ctype, body); status != http.StatusOK {
		t.Fatalf("translation: status %d, body %s", status, answer)
	}
	path, _, _, gotBody = oa.got()
	if path != "/v1/audio/translations" || !bytes.Contains(gotBody, []byte("\r\n\r\nwhisper-1\r\n")) || len(gotBody) != len(body)+2 {
		t.Errorf("upstream got %s with a %d-byte body; want /v1/audio/translations with model whisper-1 spliced in", path, len(gotBody))
	}
	// whisper-1 is priced by the minute: 9 s at 0.006 USD a minute.
	if rec := recs.wait(t, 2); rec.Endpoint != "translations" || rec.Estimated || rec.PromptTokens != 0 || rec.AudioSeconds != 9 || rec.Cost < 0.0009-1e-12 || rec.Cost > 0.0009+1e-12 {
		t.Errorf("usage record %+v, want translations with 9 audio seconds costing 0.0009, no tokens", rec)
	}
}

func TestMultipartRefusals(t *testing.T) {
	audio := &recorder{answer: `{"text":"x"}`}
	h := newHarness(t, harnessOptions{},
		&backend{id: "w", model: "whisper", class: config.ClassAudio, handler: audio.handler})
	noModelType, noModel := multipartForm(t, map[string]string{"language": "en"}, 10)
	okType, ok := multipartForm(t, map[string]string{"model": "whisper"}, 1000)
	bigType, big := multipartForm(t, map[string]string{"model": "whisper"}, 30<<20)
	tests := []struct {
		name     string
		ctype    string
		body     []byte
		want     int
		wantCode string
	}{
		{"no model", noModelType, noModel, http.StatusBadRequest, "missing_model"},
		{"truncated", okType, ok[:len(ok)/2], http.StatusBadRequest, "invalid_value"},
		{"not multipart", "application/json", []byte(`{"model":"whisper"}`), http.StatusBadRequest, "invalid_value"},
		{"no boundary", "multipart/form-data", ok, http.StatusBadRequest, "invalid_value"},
		{"30 MiB", bigType, big, http.StatusRequestEntityTooLarge, "request_too_large"},
		{"unknown model", okType, bytes.Replace(ok, []byte("whisper"), []byte("whisperX"), 1), http.StatusNotFound, "model_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.send(http.MethodPost, "/v1/audio/transcriptions", tt.ctype, tt.body)
			if status != tt.want || errorCode(t, body) != tt.wantCode {
				t.Errorf("status %d body %s, want %d %s", status, body, tt.want, tt.wantCode)
			}
		})
	}
	if n := h.ups["w"].count(); n != 0 {
		t.Errorf("the upstream got %d refused requests, want 0", n)
	}
	// 20 MiB is within the audio routes' limit though above the general one.
	midType, mid := multipartForm(t, map[string]string{"model": "whisper"}, 20<<20)
	if status, body := h.send(http.MethodPost, "/v1/audio/transcriptions", midType, mid); status != http.StatusOK {
		t.Errorf("20 MiB: status %d body %s, want 200", status, body)
	}
}

func TestSpeechModerationsAndImageUploads(t *testing.T) {
	speech := &recorder{answer: "RIFF...."}
	mod := &recorder{answer: `{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":false}]}`}
	img := &recorder{answer: `{"created":1,"data":[{"url":"https://example.com/a.png"}]}`}
	h := newHarness(t, harnessOptions{},
		&backend{id: "tts", model: "tts-1", class: config.ClassAudio, handler: speech.handler},
		&backend{id: "mod", model: "omni-moderation-latest", class: config.ClassModerations, provider: config.ProviderOpenAI, handler: mod.handler},
		&backend{id: "img", model: "gpt-image-1", class: config.ClassImages, handler: img.handler})
	tests := []struct {
		name, path, ctype string
		body              []byte
		up                *recorder
		wantPath          string
	}{
		{"speech", "/v1/audio/speech", "application/json", []byte(`{"model":"tts-1","input":"hi","voice":"alloy"}`), speech,
			"/openai/deployments/tts-1/audio/speech?api-version=" + config.DefaultAPIVersion},
		{"moderations", "/v1/moderations", "application/json", []byte(`{"model":"omni-moderation-latest","input":"hi"}`), mod, "/v1/moderations"},
		{"moderations, azure preview form", "/openai/moderations?api-version=2024-10-21", "application/json", []byte(`{"model":"omni-moderation-latest","input":"hi"}`), mod, "/v1/moderations"},
	}
	ctype, edit := multipartForm(t, map[string]string{"model": "gpt-image-1", "prompt": "a hat"}, 500)
	tests = append(tests, struct {
		name, path, ctype string
		body              []byte
		up                *recorder
		wantPath          string
	}{"image edits", "/v1/images/edits", ctype, edit, img, "/openai/deployments/gpt-image-1/images/edits?api-version=" + config.DefaultAPIVersion})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.send(http.MethodPost, tt.path, tt.ctype, tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d body %s", status, body)
			}
			if path, _, _, _ := tt.up.got(); path != tt.wantPath {
				t.Errorf("upstream path %s, want %s", path, tt.wantPath)
			}
		})
	}
	// Azure OpenAI has no variations: an Azure deployment cannot serve one.
	ctype, v := multipartForm(t, map[string]string{"model": "gpt-image-1"}, 100)
	if status, body := h.send(http.MethodPost, "/v1/images/variations", ctype, v); status != http.StatusServiceUnavailable && status != http.StatusBadGateway {
		t.Errorf("variations on Azure: status %d body %s, want a 5xx that no deployment serves it", status, body)
	}
}

func TestAzureAIInference(t *testing.T) {
	up := &recorder{answer: `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`}
	h := newHarness(t, harnessOptions{},
		&backend{id: "mistral", model: "mistral-large", provider: config.ProviderAzureAIInference, handler: up.handler, upName: "Mistral-Large-2411"})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/models/chat/completions?api-version=2024-05-01-preview", strings.NewReader(`{"model":"mistral-large","messages":[{"role":"user","content":"hi"}],"safe_prompt":true}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("extra-parameters", "pass-through")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	path, _, hdr, sent := up.got()
	if path != "/chat/completions?api-version=2024-05-01-preview" || hdr.Get("Extra-Parameters") != "pass-through" || hdr.Get("Api-Key") == "" {
		t.Errorf("upstream got %s with headers %v; want /chat/completions, extra-parameters and the key", path, hdr)
	}
	if m := jsonField(t, string(sent), "model"); m != "Mistral-Large-2411" {
		t.Errorf("upstream model %v, want Mistral-Large-2411", m)
	}
	// The Responses API is not an AI Inference operation.
	status, _, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"mistral-large","input":"hi"}`)
	if status == http.StatusOK {
		t.Errorf("responses on an AI Inference deployment: status 200, want a refusal; body %s", body)
	}
}

func TestModelRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "chat", handler: okChat("chat")},
		&backend{id: "emb", model: "text-embedding-3-small", class: config.ClassEmbeddings, handler: okChat("emb")})
	tests := []struct {
		path string
		want int
		// check looks at the decoded body.
		check func(map[string]any) bool
	}{
		{"/v1/models/gpt-4o", http.StatusOK, func(m map[string]any) bool { return m["id"] == "gpt-4o" && m["object"] == "model" }},
		{"/v1/models/nope", http.StatusNotFound, func(m map[string]any) bool { return m["error"] != nil }},
		{"/openai/v1/models/text-embedding-3-small", http.StatusOK, func(m map[string]any) bool { return m["id"] == "text-embedding-3-small" }},
		{"/openai/models?api-version=2024-10-21", http.StatusOK, func(m map[string]any) bool {
			data, _ := m["data"].([]any)
			return len(data) == 2 && m["object"] == "list"
		}},
		{"/openai/models/gpt-4o?api-version=2024-10-21", http.StatusOK, func(m map[string]any) bool {
			c, _ := m["capabilities"].(map[string]any)
			return m["id"] == "gpt-4o" && m["status"] == "succeeded" && c["chat_completion"] == true && c["embeddings"] == false
		}},
		{"/openai/models/text-embedding-3-small", http.StatusOK, func(m map[string]any) bool {
			c, _ := m["capabilities"].(map[string]any)
			return c["embeddings"] == true && c["chat_completion"] == false
		}},
	}
	for _, tt := range tests {
		status, _, body := h.call(testKey, http.MethodGet, tt.path, "")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || status != tt.want || !tt.check(m) {
			t.Errorf("GET %s: status %d body %s, want %d and the right shape", tt.path, status, body, tt.want)
		}
	}
	if status, _, _ := h.call("sk-wrong", http.MethodGet, "/openai/models", ""); status != http.StatusUnauthorized {
		t.Errorf("a bad key listed models: status %d, want 401", status)
	}
}

func FuzzPeekMultipart(f *testing.F) {
	ctype, body := multipartForm(f, map[string]string{"model": "whisper", "stream": "true"}, 20)
	f.Add(ctype, body)
	f.Add(ctype, body[:len(body)/2])
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--x--\r\n"))
	f.Add("text/plain", []byte("hello"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		p, err := peekMultipart(ctype, body)
		if err != nil {
			return
		}
		if p.modelStart >= 0 {
			if p.modelEnd < p.modelStart || p.modelEnd > len(body) {
				t.Fatalf("model span %d:%d outside a %d-byte body", p.modelStart, p.modelEnd, len(body))
			}
			// The span holds the model read, so a splice replaces exactly it.
			if got := string(body[p.modelStart:p.modelEnd]); got != p.Model {
				t.Errorf("model span holds %q, model read %q", got, p.Model)
			}
		}
	})
}
