package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
)

// do sends a request with the test key and returns status, headers and body.
func (h *harness) do(method, path, body string) (int, http.Header, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Api-Key", testKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// searchBackend is an AI Search replica of index "hotels", backed by the
// mock, which accepts only the deployment's key; upstream the index is
// called hotels-v2.
func searchBackend(id string) *backend {
	m := mock.New(mock.Options{Name: id, RequireKey: "upstream-secret-" + id})
	return &backend{id: id, model: "hotels", class: config.ClassSearch, provider: config.ProviderAzureSearch, upName: "hotels-v2", handler: m.ServeHTTP}
}

func TestSearchRoutesRoundRobin(t *testing.T) {
	h := newHarness(t, harnessOptions{}, searchBackend("search-a"), searchBackend("search-b"))
	recs := newRecords()
	withRecorder(h, recs)
	tests := []struct {
		method, path, body string
	}{
		{"POST", "/indexes/hotels/docs/search?api-version=2024-07-01", `{"search":"wifi","top":2}`},
		{"POST", "/indexes('hotels')/docs/search.post.search?api-version=2024-07-01", `{"search":"wifi","top":2}`},
		{"GET", "/indexes/hotels/docs?api-version=2024-07-01&search=wifi&$top=2", ""},
		{"POST", "/indexes/hotels/docs/search?api-version=2024-07-01", `{"search":"pool","top":2}`},
	}
	var deps []string
	for i, tt := range tests {
		code, hdr, body := h.do(tt.method, tt.path, tt.body)
		if code != http.StatusOK {
			t.Fatalf("%s %s: status %d, want 200; body %s", tt.method, tt.path, code, body)
		}
		var got struct {
			Context string `json:"@odata.context"`
			Value   []map[string]any
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: %v in %s", tt.path, err, body)
		}
		// The mock names the index it was asked about: the upstream name.
		if !strings.Contains(got.Context, "/indexes('hotels-v2')/") || len(got.Value) != 2 {
			t.Errorf("%s: context %q with %d documents, want index hotels-v2 and 2 documents", tt.path, got.Context, len(got.Value))
		}
		deps = append(deps, hdr.Get("X-Spillway-Deployment"))
		rec := recs.wait(t, i+1)
		wantEndpoint := "search"
		if tt.method == "GET" {
			wantEndpoint = "search-docs"
		}
		if rec.Model != "hotels" || rec.Endpoint != wantEndpoint || rec.Status != 200 || rec.TotalTokens != 0 || rec.Estimated {
			t.Errorf("%s: usage record %+v, want model hotels, endpoint %s, 200, no tokens", tt.path, rec, wantEndpoint)
		}
	}
	if deps[0] == deps[1] || deps[0] != deps[2] || deps[1] != deps[3] {
		t.Errorf("deployments = %v, want the two replicas taking turns", deps)
	}
}

func TestSearchErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{}, searchBackend("search-a"))
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantInBody               string
	}{
		{"unknown index", "POST", "/indexes/nope/docs/search?api-version=2024-07-01", `{}`, 404, `"code":"model_not_found"`},
		{"get on the post route", "GET", "/indexes/hotels/docs/search", "", 405, `"code":"method_not_allowed"`},
		{"post on the get route", "POST", "/indexes/hotels/docs", `{}`, 405, `"code":"method_not_allowed"`},
		{"upstream caller error passes through", "GET", "/indexes/hotels/docs?api-version=2024-07-01&$top=x", "", 400, `Invalid expression: '$top' must be an integer`},
		{"odata form without a closing quote", "POST", "/indexes('hotels/docs/search", `{}`, 404, `"code":"unknown_route"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := h.do(tt.method, tt.path, tt.body)
			if code != tt.wantStatus || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("%d %s, want %d with %s", code, body, tt.wantStatus, tt.wantInBody)
			}
		})
	}
}

func TestSearchIndexMissingFailsOver(t *testing.T) {
	gone := &backend{id: "gone", model: "hotels", class: config.ClassSearch, provider: config.ProviderAzureSearch,
		handler: status(404, `{"error":{"code":"","message":"The index 'hotels' for service 'contoso' was not found."}}`)}
	h := newHarness(t, harnessOptions{strategy: "least-inflight"}, gone, searchBackend("search-b"))
	for range 3 {
		code, hdr, body := h.do("POST", "/indexes/hotels/docs/search?api-version=2024-07-01", `{"search":"x"}`)
		if code != 200 || hdr.Get("X-Spillway-Deployment") != "search-b" {
			t.Fatalf("status %d from %q, want 200 from search-b; body %s", code, hdr.Get("X-Spillway-Deployment"), body)
		}
	}
	if got := gone.count(); got != 1 {
		t.Errorf("the replica without the index was tried %d times, want 1 (then cooled down)", got)
	}
	for _, s := range h.router.Status() {
		if s.ID == "gone" && (s.State != "cooling" || !strings.Contains(s.CooldownReason, "404")) {
			t.Errorf("routing state of gone: %s %q, want cooling with the 404", s.State, s.CooldownReason)
		}
	}
}
