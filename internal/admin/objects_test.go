package admin_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// uploadToMock stores a file on the mock as the gateway would, and returns
// the mock's id for it.
func uploadToMock(t *testing.T, url string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", "assistants")
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()
	resp, err := http.Post(url+"/v1/files", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.ID == "" {
		t.Fatalf("upload to the mock: %v", err)
	}
	return f.ID
}

func TestObjectsListAndRevokeDeletes(t *testing.T) {
	m := mock.New(mock.Options{Name: "east"})
	up := httptest.NewServer(m)
	t.Cleanup(func() { up.Close(); m.Close() })
	r, err := router.New(router.Options{}, []config.Deployment{{ID: "chat-east", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderOpenAI, Endpoint: up.URL, Deployment: "gpt-4o", Priority: 1, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{router: r})
	key := e.must(http.StatusCreated, "POST", "/admin/v1/keys", map[string]any{"name": "team-a"})["id"].(string)

	fileUp := uploadToMock(t, up.URL)
	objs := []store.Object{
		{ID: "file-sw1", Kind: store.KindFile, KeyID: key, Deployment: "chat-east", UpstreamID: fileUp, Purpose: "assistants", Status: "processed", Done: true},
		{ID: "file-sw2", Kind: store.KindFile, KeyID: key, Deployment: "chat-east", UpstreamID: "file-unknown", Status: "processed", Done: true},
		{ID: "file-sw3", Kind: store.KindFile, KeyID: key, Deployment: "chat-gone", UpstreamID: "file-x", Status: "processed", Done: true},
		{ID: "batch_sw4", Kind: store.KindBatch, KeyID: key, Deployment: "chat-east", UpstreamID: "batch_x", Status: "in_progress"},
		{ID: "file-sw5", Kind: store.KindFile, KeyID: "someone-else", Deployment: "chat-east", UpstreamID: "file-y", Status: "processed", Done: true},
	}
	for _, o := range objs {
		if err := e.store.PutObject(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}

	list := e.must(http.StatusOK, "GET", "/admin/v1/objects?key="+key, nil)
	if data := list["data"].([]any); len(data) != 4 {
		t.Errorf("the key's objects: got %d, want 4", len(data))
	}
	batches := e.must(http.StatusOK, "GET", "/admin/v1/objects?key="+key+"&kind=batch", nil)["data"].([]any)
	if len(batches) != 1 || batches[0].(map[string]any)["id"] != "batch_sw4" || batches[0].(map[string]any)["deployment"] != "chat-east" {
		t.Errorf("the key's batches: %v, want batch_sw4 on chat-east", batches)
	}
	for _, path := range []string{"/admin/v1/objects", "/admin/v1/objects?key=k&kind=nope", "/admin/v1/objects?key=k&limit=0"} {
		if code, body := e.do("GET", path, nil); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", path, code, body)
		}
	}

	got := e.must(http.StatusOK, "POST", "/admin/v1/keys/"+key+"/revoke?delete_objects=true", nil)
	if got["status"] != "revoked" {
		t.Errorf("status %v, want revoked", got["status"])
	}
	results := map[string]string{}
	for _, d := range got["deleted_objects"].([]any) {
		d := d.(map[string]any)
		results[d["id"].(string)] = d["result"].(string)
	}
	want := map[string]string{"file-sw1": "deleted", "file-sw2": "already_gone", "file-sw3": "deployment_gone"}
	if len(results) != len(want) {
		t.Errorf("deleted objects %v, want %v", results, want)
	}
	for id, w := range want {
		if results[id] != w {
			t.Errorf("%s: %q, want %q", id, results[id], w)
		}
	}
	if resp, err := http.Get(up.URL + "/v1/files/" + fileUp); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the file upstream after the revocation: %v %v, want 404", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	left := e.must(http.StatusOK, "GET", "/admin/v1/objects?key="+key, nil)["data"].([]any)
	if len(left) != 2 { // the batch, and the file whose deployment is gone
		t.Errorf("objects left: %v, want the batch and the unreachable file", left)
	}
}

func TestDeploymentRemovalWarnsOfObjects(t *testing.T) {
	e := newEnv(t, setup{})
	for _, id := range []string{"holder", "empty"} {
		e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{
			"id": id, "model": "gpt-4o", "class": "openai-chat", "provider": "openai", "endpoint": "https://api.example.com/v1", "api_key": secret,
		})
	}
	for i, key := range []string{"key-a", "key-a", "key-b"} {
		o := store.Object{ID: "file-sw" + string(rune('0'+i)), Kind: store.KindFile, KeyID: key, Deployment: "holder", UpstreamID: "file-" + string(rune('0'+i)), Done: true}
		if err := e.store.PutObject(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, got map[string]any) {
		t.Helper()
		w, ok := got["objects_warning"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no objects_warning in %v", what, got)
		}
		keys := w["keys"].(map[string]any)
		if w["objects"] != 3.0 || keys["key-a"] != 2.0 || keys["key-b"] != 1.0 || w["message"] == "" {
			t.Errorf("%s: warning %v, want 3 objects, key-a 2, key-b 1, and a message", what, w)
		}
	}
	check("deactivate", e.must(http.StatusOK, "PATCH", "/admin/v1/deployments/holder", map[string]any{"active": false}))
	if got := e.must(http.StatusOK, "PATCH", "/admin/v1/deployments/empty", map[string]any{"active": false}); got["objects_warning"] != nil {
		t.Errorf("deactivating a deployment with no objects warned: %v", got["objects_warning"])
	}
	if got := e.must(http.StatusOK, "PATCH", "/admin/v1/deployments/holder", map[string]any{"active": true}); got["objects_warning"] != nil {
		t.Errorf("activating it again warned: %v", got["objects_warning"])
	}
	check("delete", e.must(http.StatusOK, "DELETE", "/admin/v1/deployments/holder", nil))
	if got := e.must(http.StatusOK, "DELETE", "/admin/v1/deployments/empty", nil); got["objects_warning"] != nil {
		t.Errorf("deleting a deployment with no objects warned: %v", got["objects_warning"])
	}
}
