package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSecretNeverLeaks stores the same upstream key through every dialect,
// then walks every route, successes and failures alike, and checks that
// no response body and no log line holds it.
func TestSecretNeverLeaks(t *testing.T) {
	t.Setenv("SPILLWAY_ADMIN_TEST_KEY", secret)
	r, file := coolingRouter(t, time.Now()) // the file's deployments carry the key too
	e := newEnv(t, setup{config: file, router: r})

	// Stored through all three dialects, directly and via the environment.
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "native", "model": "gpt-4o", "resource_name": "res", "api_key": secret})
	e.must(http.StatusCreated, "POST", "/admin/v1/deployments", map[string]any{"id": "native-env", "model": "gpt-4o", "resource_name": "res2", "api_key": "os.environ/SPILLWAY_ADMIN_TEST_KEY"})
	e.must(http.StatusOK, "PATCH", seedUpsert, map[string]any{"deployment_class": "openai-chat", "friendly_name": "seeded", "deployment_name": "gpt-4o", "endpoint_key": secret, "resource_name": "res"})
	e.must(http.StatusOK, "POST", "/model/new", map[string]any{"model_name": "lite", "litellm_params": map[string]any{"model": "azure/gpt-4o", "api_base": "https://res.openai.azure.com", "api_key": secret}, "model_info": map[string]any{"id": "lite"}})
	e.must(http.StatusOK, "POST", "/model/new", map[string]any{"model_name": "lite-env", "litellm_params": map[string]any{"model": "openai/gpt-4o", "api_key": "os.environ/SPILLWAY_ADMIN_TEST_KEY"}, "model_info": map[string]any{"id": "lite-env"}})

	stored, err := e.store.ListDeployments(t.Context())
	if err != nil || len(stored) != 5 {
		t.Fatalf("stored %d deployments (err %v), want 5", len(stored), err)
	}
	for _, s := range stored {
		if s.APIKey != secret {
			t.Errorf("%s: stored key is not the one sent; the rest of this test would prove nothing", s.ID)
		}
	}

	// Changes that send the key again.
	e.must(http.StatusOK, "PATCH", "/admin/v1/deployments/native", map[string]any{"api_key": secret, "rpm": 5})
	e.must(http.StatusOK, "POST", "/model/update", map[string]any{"litellm_params": map[string]any{"api_key": secret}, "model_info": map[string]any{"id": "lite"}})
	e.must(http.StatusOK, "PATCH", seedUpsert, map[string]any{"deployment_class": "openai-chat", "friendly_name": "seeded", "deployment_name": "gpt-4o", "endpoint_key": secret, "resource_name": "res", "active": false})

	// Failures with the key in the body.
	for _, f := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/admin/v1/deployments", map[string]any{"model": "gpt-4o", "class": "nope", "api_key": secret}, 400},
		{"POST", "/admin/v1/deployments", map[string]any{"model": "gpt-4o", "api_key": secret, "surprise": secret}, 400},
		{"POST", "/admin/v1/deployments", `{"model": "gpt-4o", "api_key": "` + secret + `"} trailing`, 400},
		{"POST", "/admin/v1/deployments", `{"model": "gpt-4o", "api_key": "` + secret, 400},
		{"POST", "/admin/v1/deployments", map[string]any{"model": "gpt-4o", "endpoint": "https://x y", "api_key": secret}, 400},
		{"POST", "/admin/v1/deployments", map[string]any{"id": "native", "model": "gpt-4o", "provider": "openai", "api_key": secret}, 409},
		{"POST", "/admin/v1/deployments", map[string]any{"id": "east", "model": "gpt-4o", "provider": "openai", "api_key": secret}, 409},
		{"PATCH", "/admin/v1/deployments/native", map[string]any{"api_key": secret, "weight": -1}, 400},
		{"PATCH", seedUpsert, map[string]any{"deployment_class": "bogus", "friendly_name": "x", "deployment_name": "d", "endpoint_key": secret, "resource_name": "r"}, 400},
		{"POST", "/model/new", map[string]any{"model_name": "x", "litellm_params": map[string]any{"model": "azure/x", "api_key": secret, "api_base": "not a url"}}, 400},
		{"POST", "/model/update", map[string]any{"litellm_params": map[string]any{"api_key": secret, "rpm": -5}, "model_info": map[string]any{"id": "lite"}}, 400},
		{"POST", "/model/update", map[string]any{"litellm_params": map[string]any{"api_key": secret}, "model_info": map[string]any{"id": "east"}}, 409},
	} {
		if code, raw := e.do(f.method, f.path, f.body); code != f.status {
			t.Errorf("%s %s: status %d, want %d; body %s", f.method, f.path, code, f.status, raw)
		}
	}

	// Every read.
	for _, path := range []string{
		"/admin/v1/deployments", "/admin/v1/deployments?source=config", "/admin/v1/deployments?source=store",
		"/admin/v1/deployments/native", "/admin/v1/deployments/native-env", "/admin/v1/deployments/lite",
		"/admin/v1/deployments/lite-env", "/admin/v1/deployments/east", "/admin/v1/routing",
		"/health", "/health/liveliness", "/health/readiness",
		"/model/info", "/v1/model/info", "/model/info?litellm_model_id=lite",
		seedList + "all", seedList + "active", seedList + "bogus",
		"/admin/v1/nothing",
	} {
		e.do("GET", path, nil)
	}
	for _, id := range []string{"native", "lite"} {
		e.do("DELETE", "/admin/v1/deployments/"+id, nil)
	}
	e.do("POST", "/model/delete", map[string]any{"id": "lite-env"})

	e.mu.Lock()
	bodies := e.bodies
	e.mu.Unlock()
	if len(bodies) < 40 {
		t.Fatalf("only %d responses recorded", len(bodies))
	}
	for i, b := range bodies {
		if strings.Contains(b, secret) || strings.Contains(b, "SECRET-123") {
			t.Errorf("response %d holds the upstream key: %s", i, b)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "deployment created") {
		t.Errorf("no change was logged; is the logger wired? %q", logs)
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "SECRET-123") {
		t.Errorf("the log holds the upstream key:\n%s", logs)
	}
}
