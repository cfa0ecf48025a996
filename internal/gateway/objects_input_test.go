package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// apiError is the error of a gateway answer.
type apiError struct {
	Error struct {
		Message, Type, Code string
		Param               *string
	}
}

func sendRaw(t *testing.T, gwURL, method, path, contentType string, body io.Reader, key string) (int, apiError) {
	t.Helper()
	req, err := http.NewRequest(method, gwURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var e apiError
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e
}

// form is a multipart body with a purpose and a file of content.
func fileForm(content string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "in.jsonl")
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestFilesBadInput(t *testing.T) {
	env := newObjectEnv(t, 400)
	gw := env.replicas[0].URL
	ct, good := fileForm("small")
	status, _ := sendRaw(t, gw, http.MethodPost, "/v1/files", ct, good, testKey)
	if status != http.StatusOK {
		t.Fatalf("a good upload: status %d, want 200", status)
	}
	big := strings.Repeat("x", 1000)
	ctBig, bigBody := fileForm(big)
	bigBytes := bigBody.Bytes()
	truncCT, trunc := fileForm("a file that is cut off before its closing boundary")
	cut := trunc.Bytes()[:trunc.Len()-20]
	tests := []struct {
		name        string
		contentType string
		body        io.Reader
		status      int
		code        string
	}{
		{"not multipart", "application/json", strings.NewReader(`{"purpose":"batch"}`), http.StatusBadRequest, "invalid_value"},
		{"no boundary", "multipart/form-data", strings.NewReader("x"), http.StatusBadRequest, "invalid_value"},
		{"garbage", "multipart/form-data; boundary=zzz", strings.NewReader("this is not a form at all"), http.StatusBadRequest, "invalid_multipart"},
		{"truncated", truncCT, bytes.NewReader(cut), http.StatusBadRequest, "invalid_multipart"},
		{"over the limit", ctBig, bytes.NewReader(bigBytes), http.StatusRequestEntityTooLarge, "file_too_large"},
		// No Content-Length: the limit is found while streaming.
		{"over the limit, chunked", ctBig, io.MultiReader(bytes.NewReader(bigBytes)), http.StatusRequestEntityTooLarge, "file_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, e := sendRaw(t, gw, http.MethodPost, "/v1/files", tc.contentType, tc.body, testKey)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("got %d %+v, want %d with code %s", status, e.Error, tc.status, tc.code)
			}
			// The gateway's own words, not an upstream's view of half a form.
			if tc.code == "invalid_multipart" && !strings.Contains(e.Error.Message, "malformed or truncated") {
				t.Errorf("message %q, want the gateway's", e.Error.Message)
			}
		})
	}
}

func TestObjectIDsUnknownAndForeign(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, testKey)["openai"]
	f, err := c.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(1), "in.jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	gw := env.replicas[0].URL
	tests := []struct {
		name, method, path, body string
		key                      string
		status                   int
		code, param              string
	}{
		{"unknown file", http.MethodGet, "/v1/files/file-abc", "", testKey, 404, "not_found", "file_id"},
		{"forged file", http.MethodGet, "/v1/files/file-swAAAA.BBBB", "", testKey, 404, "not_found", "file_id"},
		{"another key's file", http.MethodGet, "/v1/files/" + f.ID, "", otherKey, 404, "not_found", "file_id"},
		{"another key's content", http.MethodGet, "/v1/files/" + f.ID + "/content", "", otherKey, 404, "not_found", "file_id"},
		{"unknown batch", http.MethodGet, "/v1/batches/batch_nope", "", testKey, 404, "not_found", "batch_id"},
		{"unknown upload", http.MethodPost, "/v1/uploads/upload_nope/cancel", "", testKey, 404, "not_found", "upload_id"},
		{"batch of another key's file", http.MethodPost, "/v1/batches", `{"input_file_id":"` + f.ID + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`, otherKey, 404, "not_found", "input_file_id"},
		{"batch of an unknown file", http.MethodPost, "/v1/batches", `{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`, testKey, 404, "not_found", "input_file_id"},
		{"batch without a file", http.MethodPost, "/v1/batches", `{"endpoint":"/v1/chat/completions","completion_window":"24h"}`, testKey, 400, "missing_required_parameter", "input_file_id"},
		{"batch file id not a string", http.MethodPost, "/v1/batches", `{"input_file_id":5,"endpoint":"/v1/chat/completions"}`, testKey, 400, "invalid_type", "input_file_id"},
		{"vector store file_ids not a list", http.MethodPost, "/v1/vector_stores", `{"file_ids":"` + f.ID + `"}`, testKey, 400, "invalid_type", "file_ids"},
		{"vector store of another key's file", http.MethodPost, "/v1/vector_stores", `{"file_ids":["` + f.ID + `"]}`, otherKey, 404, "not_found", "file_ids"},
		{"unknown vector store", http.MethodGet, "/v1/vector_stores/vs_nope", "", testKey, 404, "not_found", "vector_store_id"},
		{"unknown conversation", http.MethodGet, "/v1/conversations/conv_nope/items", "", testKey, 404, "not_found", "conversation_id"},
		{"file_search of an unknown store", http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi","tools":[{"type":"file_search","vector_store_ids":["vs_nope"]}]}`, testKey, 404, "not_found", "tools"},
		{"response in an unknown conversation", http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi","conversation":"conv_nope"}`, testKey, 404, "not_found", "conversation"},
		{"conversation not an id", http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi","conversation":7}`, testKey, 400, "invalid_type", "conversation"},
		{"list after an unknown id is empty", http.MethodGet, "/v1/files?after=file-nope", "", testKey, 200, "", ""},
		{"bad list limit", http.MethodGet, "/v1/files?limit=0", "", testKey, 400, "invalid_value", "limit"},
		{"bad list order", http.MethodGet, "/v1/batches?order=sideways", "", testKey, 400, "invalid_value", "order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			ct := ""
			if tc.body != "" {
				body, ct = strings.NewReader(tc.body), "application/json"
			}
			status, e := sendRaw(t, gw, tc.method, tc.path, ct, body, tc.key)
			param := ""
			if e.Error.Param != nil {
				param = *e.Error.Param
			}
			if status != tc.status || e.Error.Code != tc.code || param != tc.param || (tc.status >= 400 && e.Error.Message == "") {
				t.Errorf("got %d %+v (param %q), want %d %s %s", status, e.Error, param, tc.status, tc.code, tc.param)
			}
		})
	}
}

// TestObjectDeploymentGone: a replica whose router no longer has the
// deployment that holds a file says so.
func TestObjectDeploymentGone(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, testKey)["openai"]
	var resp *http.Response
	f, err := c.Files.New(ctx, openai.FileNewParams{File: textFile("x", "x.txt"), Purpose: openai.FilePurposeAssistants}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	holder := resp.Header.Get("X-Spillway-Deployment")
	var rest []config.Deployment
	for _, d := range objectDeployments(env.urls) {
		if d.ID != holder {
			rest = append(rest, d)
		}
	}
	gw := env.gateway(t, rest, 0)
	status, e := sendRaw(t, gw.URL, http.MethodGet, "/v1/files/"+f.ID, "", nil, testKey)
	if status != http.StatusNotFound || e.Error.Code != "object_deployment_gone" || !strings.Contains(e.Error.Message, holder) {
		t.Errorf("got %d %+v, want 404 object_deployment_gone naming %s", status, e.Error, holder)
	}
}

// failingRegistry is a registry whose writes fail, as a store outage does.
type failingRegistry struct{ ObjectRegistry }

func (failingRegistry) PutObject(context.Context, store.Object) error {
	return errors.New("store unavailable")
}

// TestRegistryOutageKeepsObjectsWorking: an object made while the
// registry cannot be written still works by its id; only lists miss it.
func TestRegistryOutageKeepsObjectsWorking(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	r, err := router.New(router.Options{Now: newClock().Now}, objectDeployments(env.urls))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(New(Options{
		Router: r, OperationKey: env.opKey, Objects: failingRegistry{env.store},
		Auth:   auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "sdk"}}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(gw.Close)
	c := openai.NewClient(option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(testKey), option.WithHTTPClient(gw.Client()), option.WithMaxRetries(0))
	f, err := c.Files.New(ctx, openai.FileNewParams{File: textFile("kept", "k.txt"), Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatalf("upload during a registry outage: %v", err)
	}
	if got := readContent(t, c, f.ID); got != "kept" {
		t.Errorf("content: %q, want kept", got)
	}
	if l, err := c.Files.List(ctx, openai.FileListParams{}); err != nil || len(l.Data) != 0 {
		t.Errorf("list: %d files, %v; want none (the registry missed it)", len(l.Data), err)
	}
}
