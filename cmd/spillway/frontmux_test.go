package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/spillwayhq/spillway/internal/gateway"
	"github.com/spillwayhq/spillway/internal/router"
)

// named answers with its name, so a test sees which handler a mux chose.
type named string

func (n named) ServeHTTP(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(n)) }

func gatewayPatterns(t *testing.T) []string {
	t.Helper()
	r, err := router.New(router.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := gateway.New(gateway.Options{Router: r}).Patterns()
	if len(ps) < 100 {
		t.Fatalf("the gateway has %d patterns, want its routes", len(ps))
	}
	return ps
}

// TestFrontMuxRoutesAsBefore: with the gateway's own patterns registered
// in front, every request goes where the catch-all alone sent it: the
// gateway's routes (their wildcards filled in, with a trailing slash, by
// every method), the others' routes, and paths nobody serves.
func TestFrontMuxRoutesAsBefore(t *testing.T) {
	patterns := gatewayPatterns(t)
	before := frontMux(named("mgmt"), named("metrics"), named("ui"), named("signin"), named("gateway"), nil)
	after := frontMux(named("mgmt"), named("metrics"), named("ui"), named("signin"), named("gateway"), patterns)
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	paths := []string{"/", "/admin", "/admin/", "/admin/login", "/admin/signin/github", "/api/v1/management/keys", "/v1/api/management/keys",
		"/api/v1/attendee/x", "/api/v1/eventinfo", "/model/new", "/v1/model/info", "/key/generate", "/team/new", "/health", "/health/ready",
		"/metrics", "/static/app.js", "/ui/markdown", "/register/ev", "/register/ev/signin/github", "/v1/models", "/v1/models/gpt-4o",
		"/v1/nothing", "/v1//chat/completions", "/v1/chat/../chat/completions", "/indexes('ix')/docs/search.post.search"}
	for _, p := range patterns {
		path := wildcard.ReplaceAllString(p, "x1")
		paths = append(paths, path, path+"/", path+"/more")
	}
	for _, path := range paths {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete, http.MethodPatch} {
			w0, w1 := httptest.NewRecorder(), httptest.NewRecorder()
			before.ServeHTTP(w0, httptest.NewRequest(method, path, nil))
			after.ServeHTTP(w1, httptest.NewRequest(method, path, nil))
			if w0.Code != w1.Code || w0.Body.String() != w1.Body.String() || w0.Header().Get("Location") != w1.Header().Get("Location") {
				t.Errorf("%s %s: got %d %q (Location %q), want %d %q (Location %q) as before", method, path,
					w1.Code, w1.Body, w1.Header().Get("Location"), w0.Code, w0.Body, w0.Header().Get("Location"))
			}
		}
	}
}

// TestFrontMuxGatewayRouteAllocations: the mux in front finds a gateway
// route with at most one allocation, where it made seven under the
// catch-all. The one is Go's: a POST is first looked for among the
// POST-only patterns (the portal's), and each literal segment missed
// there appends to its wildcard matches.
func TestFrontMuxGatewayRouteAllocations(t *testing.T) {
	mux := frontMux(named("mgmt"), named("metrics"), named("ui"), named("signin"), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), gatewayPatterns(t))
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	w := httptest.NewRecorder()
	if got := testing.AllocsPerRun(100, func() { mux.ServeHTTP(w, r) }); got > 1 {
		t.Errorf("routing POST /v1/chat/completions allocated %v times, want at most 1", got)
	}
}
