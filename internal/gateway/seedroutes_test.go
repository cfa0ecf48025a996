package gateway

import (
	"io"
	"net/http"
	"testing"
)

// TestSeedRoutes: the proxy Spillway replaces served every route under
// /api/v1 (/api/v1/openai/deployments/{name}/chat/completions, ...); its
// clients keep working unchanged, as do the bare and /api forms.
func TestSeedRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: okChat("a")})
	const chat = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for _, path := range []string{
		"/v1/chat/completions",
		"/api/v1/chat/completions",
		"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		"/api/v1/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		"/api/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		"/openai/v1/chat/completions",
		"/api/v1/openai/v1/chat/completions",
	} {
		resp := h.post(path, chat)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Spillway-Deployment") != "a" {
			t.Errorf("POST %s: %d from %q, want 200 from a; body %s", path, resp.StatusCode, resp.Header.Get("X-Spillway-Deployment"), b)
		}
	}
	for _, path := range []string{"/v1/models", "/api/v1/models", "/openai/v1/models", "/api/v1/openai/v1/models"} {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, resp.StatusCode)
		}
	}
}

// TestSeedSearchRoutes: AI Search answers under /api/v1 too, OData form
// included.
func TestSeedSearchRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{}, searchBackend("search-a"))
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/api/v1/indexes/hotels/docs/search?api-version=2024-07-01", `{"search":"wifi","top":2}`},
		{"POST", "/api/v1/indexes('hotels')/docs/search.post.search?api-version=2024-07-01", `{"search":"wifi","top":2}`},
		{"GET", "/api/v1/indexes/hotels/docs?api-version=2024-07-01&search=wifi&$top=2", ""},
	} {
		if code, _, body := h.do(tt.method, tt.path, tt.body); code != http.StatusOK {
			t.Errorf("%s %s: %d, want 200; body %s", tt.method, tt.path, code, body)
		}
	}
}
