package admin_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// ignoreTimes drops the timestamps, which the store sets.
var ignoreTimes = cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "created_at" || k == "updated_at" })

func TestNativeCRUD(t *testing.T) {
	e := newEnv(t, setup{})
	created := e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{
		"model": "gpt-4o", "endpoint": "https://eastus.openai.azure.com", "api_key": secret, "rpm": 600,
		"model_info": map[string]any{"team": "a"},
	})
	id, _ := created["id"].(string)
	if !regexp.MustCompile(`^gpt-4o-[0-9a-f]{6}$`).MatchString(id) {
		t.Fatalf("generated id %q, want gpt-4o-<6 hex digits>", id)
	}
	want := map[string]any{
		"id": id, "model": "gpt-4o", "class": "openai-chat", "provider": "azure",
		"endpoint": "https://eastus.openai.azure.com", "resource_name": "", "deployment": "gpt-4o",
		"api_version": "2024-10-21", "api_key": "*********", "priority": 1.0, "weight": 1.0,
		"rpm": 600.0, "tpm": 0.0, "active": true, "model_info": map[string]any{"team": "a"},
		"source": "store", "origin": "native",
	}
	if diff := cmp.Diff(want, created, ignoreTimes); diff != "" {
		t.Errorf("POST response mismatch (-want +got):\n%s", diff)
	}
	if _, ok := created["created_at"]; !ok {
		t.Errorf("POST response has no created_at: %v", created)
	}
	path := "/admin/v1/deployments/" + id
	if diff := cmp.Diff(want, e.must(http.StatusOK, "GET", path, nil), ignoreTimes); diff != "" {
		t.Errorf("GET mismatch (-want +got):\n%s", diff)
	}

	// PATCH merges: only rpm changes, and the key stays whether api_key is
	// absent or the masked value a GET shows.
	for _, body := range []map[string]any{{"rpm": 100}, {"rpm": 100, "api_key": "*********"}} {
		got := e.must(http.StatusOK, "PATCH", path, body)
		want["rpm"] = 100.0
		if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
			t.Errorf("PATCH %v mismatch (-want +got):\n%s", body, diff)
		}
		if s, err := e.store.GetDeployment(t.Context(), id); err != nil || s.APIKey != secret {
			t.Errorf("after PATCH %v the stored key changed (err %v)", body, err)
		}
	}
	got := e.must(http.StatusOK, "PATCH", path, map[string]any{"api_key": "sk-rotated", "active": false, "resource_name": "westus", "endpoint": ""})
	want["active"], want["resource_name"], want["endpoint"] = false, "westus", ""
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Errorf("PATCH mismatch (-want +got):\n%s", diff)
	}
	if s, _ := e.store.GetDeployment(t.Context(), id); s.APIKey != "sk-rotated" || s.Active {
		t.Errorf("stored after PATCH: key changed %v, active %v; want the new key, inactive", s.APIKey == "sk-rotated", s.Active)
	}

	list := e.must(http.StatusOK, "GET", "/admin/v1/deployments", nil)
	if diff := cmp.Diff(map[string]any{"data": []any{want}}, list, ignoreTimes); diff != "" {
		t.Errorf("list mismatch (-want +got):\n%s", diff)
	}

	del := e.must(http.StatusOK, "DELETE", path, nil)
	if diff := cmp.Diff(map[string]any{"id": id, "deleted": true}, del); diff != "" {
		t.Errorf("DELETE mismatch (-want +got):\n%s", diff)
	}
	e.mustErr(http.StatusNotFound, "GET", path, nil)
	if _, err := e.store.GetDeployment(t.Context(), id); err == nil {
		t.Errorf("deployment still stored after DELETE")
	}
	e.wantReloads(5) // create, three patches, delete
}

func TestNativeCreateWithID(t *testing.T) {
	e := newEnv(t, setup{})
	body := map[string]any{"id": "emb-1", "model": "text-embedding-3-small", "class": "openai-embedding", "provider": "openai"}
	got := e.must(http.StatusCreated, "POST", "/admin/v1/deployments", body)
	if got["id"] != "emb-1" || got["class"] != "openai-embeddings" || got["api_key"] != "" || got["endpoint"] != "" {
		t.Errorf("created %v; want id emb-1, canonical class openai-embeddings, no key", got)
	}
	err := e.mustErr(http.StatusConflict, "POST", "/admin/v1/deployments", body)
	if err.Error.Code != "deployment_exists" || param(err) != "id" {
		t.Errorf("second create: %+v; want code deployment_exists, param id", err.Error)
	}
	err = e.mustErr(http.StatusBadRequest, "PATCH", "/admin/v1/deployments/emb-1", map[string]any{"id": "emb-2"})
	if param(err) != "id" {
		t.Errorf("PATCH changing the id: param %q, want id", param(err))
	}
	e.wantReloads(1)
}

func TestNativeValidation(t *testing.T) {
	classes := "openai-chat, openai-completions, openai-embeddings, openai-images, azure-ai-search, openai-audio, openai-moderations, openai-realtime"
	tests := []struct {
		name   string
		body   any
		status int
		param  string
		code   string
		// message is the whole message when exact, else a part of it.
		message string
		exact   bool
	}{
		{"bad JSON", `{"model":`, 400, "", "invalid_json", "invalid JSON", false},
		{"not an object", `[1,2]`, 400, "", "invalid_json", "must be a JSON object", false},
		{"empty body", ``, 400, "", "invalid_json", "request body is empty", false},
		{"two values", `{"model":"gpt-4o"} {}`, 400, "", "invalid_json", "nothing after it", false},
		{"unknown field", map[string]any{"model": "gpt-4o", "modle": "x"}, 400, "modle", "unknown_field", `unknown field "modle"`, false},
		{"wrong type", map[string]any{"model": "gpt-4o", "rpm": "600"}, 400, "rpm", "invalid_type", "rpm: want a number, got string", true},
		{"invalid class", map[string]any{"model": "gpt-4o", "class": "x", "provider": "openai"}, 400, "class", "invalid_deployment",
			`class: unknown class "x"; use one of ` + classes, true},
		{"invalid provider", map[string]any{"model": "gpt-4o", "provider": "bedrock"}, 400, "provider", "invalid_deployment",
			`provider: unknown provider "bedrock"; use one of azure, openai, openai-compatible, azure-ai-search, azure-ai-inference`, true},
		{"invalid endpoint", map[string]any{"model": "gpt-4o", "endpoint": "ftp://x"}, 400, "endpoint", "invalid_deployment", `endpoint: invalid endpoint "ftp://x"`, false},
		{"azure without endpoint", map[string]any{"model": "gpt-4o", "provider": "azure"}, 400, "endpoint", "invalid_deployment", "endpoint: missing; set endpoint (https://NAME.openai.azure.com) or resource_name (NAME)", true},
		{"missing model", map[string]any{"provider": "openai"}, 400, "model", "invalid_deployment", "model: missing", false},
		{"invalid id", map[string]any{"id": "a/b", "model": "gpt-4o", "provider": "openai"}, 400, "id", "invalid_deployment", `id: invalid id "a/b"`, false},
		{"unset environment variable", map[string]any{"model": "gpt-4o", "provider": "openai", "api_key": "os.environ/SPILLWAY_ADMIN_TEST_UNSET"}, 400, "api_key", "invalid_deployment",
			"api_key: environment variable SPILLWAY_ADMIN_TEST_UNSET is not set", false},
		{"api key ending in a newline", map[string]any{"model": "gpt-4o", "provider": "openai", "api_key": "sk-upstream-NEWLINE\n"}, 400, "api_key", "invalid_deployment",
			"api_key: holds a control character (a trailing newline from a file or a secret?); an HTTP header cannot carry it", true},
		{"every problem", map[string]any{"class": "x", "provider": "bedrock", "endpoint": "nope", "rpm": -1}, 400, "model", "invalid_deployment",
			"model: missing; set the public name clients ask for, e.g. gpt-4o\n" +
				`class: unknown class "x"; use one of ` + classes + "\n" +
				`provider: unknown provider "bedrock"; use one of azure, openai, openai-compatible, azure-ai-search, azure-ai-inference` + "\n" +
				`endpoint: invalid endpoint "nope"; use an absolute http(s) URL such as https://NAME.openai.azure.com` + "\n" +
				"rpm: must not be negative; 0 means unlimited", true},
		{"too large", map[string]any{"model": "gpt-4o", "model_info": map[string]any{"x": strings.Repeat("a", 1<<20)}}, 413, "", "request_too_large", "request body too large", false},
	}
	e := newEnv(t, setup{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.mustErr(tt.status, "POST", "/admin/v1/deployments", tt.body)
			if param(err) != tt.param || err.Error.Code != tt.code || err.Error.Type != "invalid_request_error" {
				t.Errorf("param %q, code %q, type %q; want %q, %q, invalid_request_error", param(err), err.Error.Code, err.Error.Type, tt.param, tt.code)
			}
			if tt.exact && err.Error.Message != tt.message {
				t.Errorf("message:\n%s\nwant:\n%s", err.Error.Message, tt.message)
			}
			if !tt.exact && !strings.Contains(err.Error.Message, tt.message) {
				t.Errorf("message %q does not contain %q", err.Error.Message, tt.message)
			}
		})
	}
	if list, _ := e.store.ListDeployments(t.Context()); len(list) != 0 {
		t.Errorf("%d deployments stored by invalid requests", len(list))
	}
	e.wantReloads(0)
}

func TestNativeNoSecretKey(t *testing.T) {
	e := newEnv(t, setup{noKey: true})
	err := e.mustErr(http.StatusBadRequest, "POST", "/admin/v1/deployments", map[string]any{"model": "gpt-4o", "provider": "openai", "api_key": secret})
	if err.Error.Message != store.ErrNoSecretKey.Error() || err.Error.Code != "secret_key_missing" || param(err) != "api_key" {
		t.Errorf("got %+v; want the store's ErrNoSecretKey message, code secret_key_missing, param api_key", err.Error)
	}
	// Each dialect names its own key field.
	for _, tt := range []struct {
		path, param string
		body        map[string]any
	}{
		{seedUpsert, "endpoint_key", map[string]any{"deployment_class": "openai-chat", "friendly_name": "x", "deployment_name": "d", "endpoint_key": "k", "resource_name": "r"}},
		{"/model/new", "litellm_params.api_key", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "openai/gpt-4o", "api_key": "k"}}},
	} {
		method := "POST"
		if tt.path == seedUpsert {
			method = "PATCH"
		}
		if err := e.mustErr(http.StatusBadRequest, method, tt.path, tt.body); param(err) != tt.param || err.Error.Code != "secret_key_missing" {
			t.Errorf("%s: param %q code %q; want %s, secret_key_missing", tt.path, param(err), err.Error.Code, tt.param)
		}
	}
	e.wantReloads(0)
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"model": "local", "provider": "openai-compatible", "endpoint": "http://127.0.0.1:8000/v1"})
	e.wantReloads(1)
}

// A password in an endpoint URL is masked like a key, and sending the
// masked form back (GET, edit, PATCH) keeps it.
func TestNativeEndpointPassword(t *testing.T) {
	e := newEnv(t, setup{})
	got := e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{
		"id": "local", "model": "llama", "provider": "openai-compatible", "endpoint": "http://user:pw-hidden@127.0.0.1:8000/v1",
	})
	if got["endpoint"] != "http://user:xxxxx@127.0.0.1:8000/v1" {
		t.Errorf("endpoint shown as %v; want the password masked", got["endpoint"])
	}
	got["rpm"] = 7
	back := e.must(http.StatusOK, "PATCH", "/admin/v1/deployments/local", got)
	if back["rpm"] != 7.0 || back["endpoint"] != "http://user:xxxxx@127.0.0.1:8000/v1" {
		t.Errorf("after sending the GET back: %v", back)
	}
	if s, _ := e.store.GetDeployment(t.Context(), "local"); s.Endpoint != "http://user:pw-hidden@127.0.0.1:8000/v1" {
		t.Errorf("stored endpoint %q; want the password kept", s.Endpoint)
	}
	info := e.modelInfo("/model/info", "local")
	if base := info["litellm_params"].(map[string]any)["api_base"]; base != "http://user:xxxxx@127.0.0.1:8000/v1" {
		t.Errorf("/model/info api_base %v; want the password masked", base)
	}
	for _, b := range e.bodies {
		if strings.Contains(b, "pw-hidden") {
			t.Errorf("a response holds the endpoint's password: %s", b)
		}
	}
	e.wantReloads(2)
}

// A failed reload does not fail a stored change: it is logged, and other
// replicas (and the next poll here) pick the change up.
func TestNativeReloadFailure(t *testing.T) {
	e := newEnv(t, setup{reloadErr: errTest})
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "a", "model": "gpt-4o", "provider": "openai"})
	e.wantReloads(1)
	if !strings.Contains(e.logs.String(), "not yet routed here") {
		t.Errorf("reload failure not logged: %s", e.logs.String())
	}
}

var errTest = testError("reload refused")

type testError string

func (e testError) Error() string { return string(e) }

func TestConfigDeploymentsReadOnly(t *testing.T) {
	file := fileDeployments(t, config.Deployment{ID: "gpt4o-eastus", Model: "gpt-4o", ResourceName: "eastus", APIKey: secret})
	e := newEnv(t, setup{config: file})
	const msg = "deployment gpt4o-eastus is defined in the config file; edit the file to change it"
	tests := []struct {
		method, path string
		body         any
	}{
		{"POST", "/admin/v1/deployments", map[string]any{"id": "gpt4o-eastus", "model": "gpt-4o", "provider": "openai"}},
		{"PATCH", "/admin/v1/deployments/gpt4o-eastus", map[string]any{"rpm": 1}},
		{"DELETE", "/admin/v1/deployments/gpt4o-eastus", nil},
		{"POST", "/model/new", map[string]any{"model_name": "gpt-4o", "litellm_params": map[string]any{"model": "openai/gpt-4o"}, "model_info": map[string]any{"id": "gpt4o-eastus"}}},
		{"POST", "/model/update", map[string]any{"litellm_params": map[string]any{"rpm": 5}, "model_info": map[string]any{"id": "gpt4o-eastus"}}},
		{"POST", "/model/delete", map[string]any{"id": "gpt4o-eastus"}},
		{"PATCH", "/api/v1/management/modeldeployment/upsert", map[string]any{
			"deployment_class": "openai-chat", "friendly_name": "gpt-4o", "deployment_name": "gpt-4o", "endpoint_key": "k", "resource_name": "eastus",
		}},
	}
	for _, tt := range tests {
		err := e.mustErr(http.StatusConflict, tt.method, tt.path, tt.body)
		if err.Error.Message != msg || err.Error.Code != "config_deployment" {
			t.Errorf("%s %s: %+v; want %q, code config_deployment", tt.method, tt.path, err.Error, msg)
		}
	}
	got := e.must(http.StatusOK, "GET", "/admin/v1/deployments/gpt4o-eastus", nil)
	if got["source"] != "config" || got["api_key"] != "*********" || got["resource_name"] != "eastus" {
		t.Errorf("config deployment shown as %v; want source config, key masked", got)
	}
	if _, ok := got["origin"]; ok {
		t.Errorf("config deployment has an origin: %v", got)
	}
	e.wantReloads(0)
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, setup{})
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/admin/v1/deployments/nope", nil, 404, "deployment_not_found"},
		{"PATCH", "/admin/v1/deployments/nope", map[string]any{"rpm": 1}, 404, "deployment_not_found"},
		{"DELETE", "/admin/v1/deployments/nope", nil, 404, "deployment_not_found"},
		{"POST", "/model/update", map[string]any{"model_info": map[string]any{"id": "nope"}, "litellm_params": map[string]any{"rpm": 1}}, 404, "deployment_not_found"},
		{"POST", "/model/delete", map[string]any{"id": "nope"}, 404, "deployment_not_found"},
		{"GET", "/admin/v1/nothing", nil, 404, "not_found"},
		{"GET", "/", nil, 404, "not_found"},
		{"PUT", "/admin/v1/deployments", nil, 405, "method_not_allowed"},
		{"POST", "/admin/v1/routing", nil, 405, "method_not_allowed"},
		{"GET", "/model/new", nil, 405, "method_not_allowed"},
	} {
		err := e.mustErr(tt.status, tt.method, tt.path, tt.body)
		if err.Error.Code != tt.code {
			t.Errorf("%s %s: code %q, want %q", tt.method, tt.path, err.Error.Code, tt.code)
		}
	}
	e.wantReloads(0)
}

func TestListFilters(t *testing.T) {
	file := fileDeployments(t,
		config.Deployment{ID: "file-chat", Model: "gpt-4o", ResourceName: "eastus"},
		config.Deployment{ID: "file-emb", Model: "text-embedding-3-small", Class: "openai-embeddings", Provider: "openai", Active: active(false)},
	)
	e := newEnv(t, setup{config: file})
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "db-chat", "model": "gpt-4o", "provider": "openai"})
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "db-image", "model": "dall-e-3", "class": "openai-dall-e-3", "provider": "openai", "active": false})

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"file-chat", "file-emb", "db-chat", "db-image"}},
		{"?model=gpt-4o", []string{"file-chat", "db-chat"}},
		{"?class=openai-chat", []string{"file-chat", "db-chat"}},
		{"?class=openai-images-generations", []string{"db-image"}},
		{"?active=false", []string{"file-emb", "db-image"}},
		{"?active=true&source=store", []string{"db-chat"}},
		{"?source=config", []string{"file-chat", "file-emb"}},
		{"?model=gpt-4o&source=config", []string{"file-chat"}},
		{"?model=none", []string{}},
	}
	for _, tt := range tests {
		list := e.must(http.StatusOK, "GET", "/admin/v1/deployments"+tt.query, nil)
		got := []string{}
		for _, d := range list["data"].([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
	for _, tt := range []struct{ query, param string }{
		{"?active=maybe", "active"}, {"?source=yaml", "source"}, {"?class=chat", "class"},
	} {
		if err := e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/deployments"+tt.query, nil); param(err) != tt.param {
			t.Errorf("GET %s: param %q, want %q", tt.query, param(err), tt.param)
		}
	}
}
