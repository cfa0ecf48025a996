package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/config"
)

const (
	seedUpsert = "/api/v1/management/modeldeployment/upsert"
	seedList   = "/api/v1/management/modeldeployment/list/"
)

// seedRecords lists deployments through the seed's list route.
func (e *env) seedRecords(query string) []map[string]any {
	e.t.Helper()
	code, raw := e.do("GET", seedList+query, nil)
	if code != http.StatusOK {
		e.t.Fatalf("list/%s: status %d, body %s", query, code, raw)
	}
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("list/%s: want a JSON array, got %s", query, raw)
	}
	return out
}

// TestSeedReadme replays the seed's documented curl calls
// (docs/docs/30-Configuration/10-model-deployments.md and the management
// API page of microsoft/azure-openai-service-proxy).
func TestSeedReadme(t *testing.T) {
	e := newEnv(t, setup{})

	// The docs' upsert, verbatim. They show curl -X POST, but the seed's
	// route is PATCH (routes/management.py): POST answers 405 there and here.
	glovebox := `{
    "deployment_class": "openai-chat",
    "friendly_name" : "chat-glovebox",
    "deployment_name": "turbo-gpt",
    "endpoint_key": "1234455",
    "resource_name": "my-resource-name",
    "active": false
}`
	e.mustErr(http.StatusMethodNotAllowed, "POST", "/v1/api/management/modeldeployment/upsert", glovebox)
	record := map[string]any{
		"deployment_class": "openai-chat", "friendly_name": "chat-glovebox", "deployment_name": "turbo-gpt",
		"endpoint_key": "*********", "resource_name": "my-resource-name", "active": false,
	}
	// Both prefixes the seed used over time.
	for _, path := range []string{"/v1/api/management/modeldeployment/upsert", seedUpsert} {
		if diff := cmp.Diff(record, e.must(http.StatusOK, "PATCH", path, glovebox)); diff != "" {
			t.Errorf("PATCH %s mismatch (-want +got):\n%s", path, diff)
		}
	}
	if diff := cmp.Diff([]map[string]any{record}, e.seedRecords("all")); diff != "" {
		t.Errorf("list/all mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]map[string]any{}, e.seedRecords("active")); diff != "" {
		t.Errorf("list/active mismatch (-want +got):\n%s", diff)
	}
	stored, _ := e.store.ListDeployments(t.Context())
	if len(stored) != 1 {
		t.Fatalf("%d deployments stored after upserting one twice, want 1", len(stored))
	}
	if s := stored[0]; s.Model != "chat-glovebox" || s.Deployment != "turbo-gpt" || s.APIKey != "1234455" ||
		s.ResourceName != "my-resource-name" || s.Provider != "azure" || s.Active || s.Origin != "seed" {
		t.Errorf("stored %+v; want model chat-glovebox, deployment turbo-gpt, key 1234455, azure, inactive, origin seed", s)
	}

	// The docs' placeholder payload: the class is not one the seed knows.
	err := e.mustErr(http.StatusBadRequest, "PATCH", seedUpsert, `{
    "deployment_class": "A_VALID_MODEL_DEPLOYMENT_CLASS",
    "friendly_name" : "YOUR_AZURE_OPENAI_DEPLOYMENT_FRIENDLY_NAME",
    "deployment_name": "YOUR_AZURE_OPENAI_DEPLOYMENT_NAME",
    "endpoint_key": "YOUR_AZURE_OPENAI_ENDPOINT_KEY",
    "resource_name": "YOUR_AZURE_OPENAI_RESOURCE_NAME",
    "active": true
}`)
	if param(err) != "deployment_class" || err.Detail != err.Error.Message {
		t.Errorf("placeholder upsert: param %q, detail %q; want deployment_class and detail = message %q", param(err), err.Detail, err.Error.Message)
	}

	// Any other list query is the seed's 400, with FastAPI's detail too.
	for _, q := range []string{"inactive", "x"} {
		err := e.mustErr(http.StatusBadRequest, "GET", seedList+q, nil)
		if err.Error.Message != "Invalid query path." || err.Detail != "Invalid query path." {
			t.Errorf("list/%s: %+v detail %q; want Invalid query path.", q, err.Error, err.Detail)
		}
	}
	if got := e.seedRecords("ALL"); len(got) != 1 {
		t.Errorf("list/ALL: %d records, want 1 (the seed lower-cases the query)", len(got))
	}
	e.wantReloads(2)
}

// TestSeedUpsertKey checks the upsert key: (class, friendly name,
// resource name).
func TestSeedUpsertKey(t *testing.T) {
	e := newEnv(t, setup{})
	upsert := func(friendly, resource, key string, active bool) {
		t.Helper()
		e.must(http.StatusOK, "PATCH", seedUpsert, map[string]any{
			"deployment_class": "openai-chat", "friendly_name": friendly, "deployment_name": "gpt-4o",
			"endpoint_key": key, "resource_name": resource, "active": active,
		})
	}
	// A deployment addressed by endpoint is the same resource: upserted, it
	// keeps its endpoint.
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "cs", "model": "gpt-4o", "endpoint": "https://ai-east.cognitiveservices.azure.com", "api_key": "k0"})
	upsert("gpt-4o", "ai-east", "k0b", false)
	if s, _ := e.store.GetDeployment(t.Context(), "cs"); s.Endpoint != "https://ai-east.cognitiveservices.azure.com" || s.ResourceName != "" || s.APIKey != "k0b" || s.Active {
		t.Errorf("upsert over an endpoint deployment stored %+v; want the endpoint kept, the new key, inactive", s)
	}
	e.must(http.StatusOK, "DELETE", "/admin/v1/deployments/cs", nil)

	upsert("gpt-4o", "eastus", "k1", true)
	upsert("gpt-4o", "westus", "k2", true) // a second resource joins the pool
	upsert("gpt-4o", "EastUS", "k3", false)
	upsert("gpt-4o-mini", "eastus", "k4", true)

	stored, _ := e.store.ListDeployments(t.Context())
	got := map[string]string{}
	for _, s := range stored {
		got[s.Model+"@"+s.ResourceName] = s.APIKey
		if s.Model == "gpt-4o" && s.ResourceName == "EastUS" && s.Active {
			t.Errorf("re-upsert with active false left %s active", s.ID)
		}
	}
	want := map[string]string{"gpt-4o@EastUS": "k3", "gpt-4o@westus": "k2", "gpt-4o-mini@eastus": "k4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored deployments (model@resource: key) mismatch (-want +got):\n%s", diff)
	}
	active := e.seedRecords("active")
	if len(active) != 2 {
		t.Errorf("list/active: %d records, want 2: %v", len(active), active)
	}
	// Both gpt-4o deployments share the model: the router pools them.
	pool := e.must(http.StatusOK, "GET", "/admin/v1/deployments?model=gpt-4o", nil)
	if n := len(pool["data"].([]any)); n != 2 {
		t.Errorf("%d deployments of gpt-4o, want 2", n)
	}
	e.wantReloads(7)
}

func TestSeedClasses(t *testing.T) {
	file := fileDeployments(t, config.Deployment{ID: "file", Model: "gpt-4o", Endpoint: "https://file-res.openai.azure.com", APIKey: secret})
	e := newEnv(t, setup{config: file})
	for _, tt := range []struct {
		class, wantClass, wantProvider string
	}{
		{"openai-images-generations", "openai-images", "azure"},
		{"openai-dall-e-3", "openai-images", "azure"},
		{"openai-embedding", "openai-embeddings", "azure"},
		{"azure-ai-search", "azure-ai-search", "azure-ai-search"},
		{"openai-realtime", "openai-realtime", "azure"},
	} {
		got := e.must(http.StatusOK, "PATCH", seedUpsert, map[string]any{
			"deployment_class": tt.class, "friendly_name": "m-" + tt.class, "deployment_name": "d",
			"endpoint_key": "k", "resource_name": "res",
		})
		if got["deployment_class"] != tt.wantClass || got["active"] != true {
			t.Errorf("upsert %s: %v; want class %s, active by default", tt.class, got, tt.wantClass)
		}
		list := e.must(http.StatusOK, "GET", "/admin/v1/deployments?model=m-"+tt.class, nil)["data"].([]any)
		if d := list[0].(map[string]any); d["provider"] != tt.wantProvider || d["resource_name"] != "res" {
			t.Errorf("upsert %s stored provider %v, resource %v; want %s, res", tt.class, d["provider"], d["resource_name"], tt.wantProvider)
		}
	}
	// Config deployments are listed too, the resource read from the endpoint.
	all := e.seedRecords("all")
	if diff := cmp.Diff(map[string]any{
		"deployment_class": "openai-chat", "friendly_name": "gpt-4o", "deployment_name": "gpt-4o",
		"endpoint_key": "*********", "resource_name": "file-res", "active": true,
	}, all[0]); diff != "" {
		t.Errorf("config deployment in list/all (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"missing fields", map[string]any{"friendly_name": "x"}, "deployment_class"},
		{"bad resource", map[string]any{"deployment_class": "openai-chat", "friendly_name": "x", "deployment_name": "d", "endpoint_key": "k", "resource_name": "not a name"}, "resource_name"},
		{"no friendly name", map[string]any{"deployment_class": "openai-chat", "friendly_name": "", "deployment_name": "d", "endpoint_key": "k", "resource_name": "r"}, "friendly_name"},
	} {
		err := e.mustErr(http.StatusBadRequest, "PATCH", seedUpsert, tt.body)
		if param(err) != tt.param || err.Detail == "" {
			t.Errorf("%s: param %q detail %q; want %s and a detail", tt.name, param(err), err.Detail, tt.param)
		}
	}
	e.wantReloads(5)
}
