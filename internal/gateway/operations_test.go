package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
)

// dalle2 is a DALL-E 2 resource backed by its own mock, which knows only
// the jobs it took.
type dalle2 struct {
	id   string
	mock *mock.Server
	srv  *httptest.Server
}

func newDalle2(t *testing.T, id string) *dalle2 {
	t.Helper()
	m := mock.New(mock.Options{Name: id, RequireKey: "key-" + id})
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Close(); srv.Close() })
	return &dalle2{id: id, mock: m, srv: srv}
}

// replica is one gateway process: its own router and state, the shared
// deployments and operation key.
func replica(t *testing.T, key []byte, ups ...*dalle2) *httptest.Server {
	t.Helper()
	var deps []config.Deployment
	for _, u := range ups {
		deps = append(deps, config.Deployment{ID: u.id, Model: "dall-e-2", Class: config.ClassImages, Provider: config.ProviderAzure,
			Endpoint: u.srv.URL, Deployment: "dall-e-2", APIVersion: "2023-06-01-preview", APIKey: config.Secret("key-" + u.id), Priority: 1, Weight: 1})
	}
	r, err := router.New(router.Options{Now: newClock().Now}, deps)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := New(Options{Router: r, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "test"}}), Transport: tr, Retries: 2,
		OperationKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, u, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Api-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

const submitPath = "/openai/images/generations:submit?api-version=2023-06-01-preview"

func TestImageJobPollsStickAcrossReplicas(t *testing.T) {
	east, west := newDalle2(t, "east"), newDalle2(t, "west")
	key := OperationKey([]byte("0123456789abcdef0123456789abcdef"))
	gwA, gwB := replica(t, key, east, west), replica(t, key, east, west)

	accepted := map[string]int{}
	for i := range 4 {
		sub := call(t, "POST", gwA.URL+submitPath, `{"prompt":"a lighthouse","n":1}`)
		if sub.status != http.StatusAccepted {
			t.Fatalf("submit %d: status %d, want 202; body %s", i, sub.status, sub.raw)
		}
		dep := sub.header.Get("X-Spillway-Deployment")
		accepted[dep]++
		loc, err := url.Parse(sub.header.Get("Operation-Location"))
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(loc.Path, "/openai/operations/images/")
		if loc.Scheme+"://"+loc.Host != gwA.URL || id == loc.Path || loc.Query().Get("api-version") != "2023-06-01-preview" {
			t.Fatalf("operation-location %s, want %s/openai/operations/images/{id}?api-version=2023-06-01-preview", loc, gwA.URL)
		}
		if sub.body["id"] != id {
			t.Errorf("body id %v, want the operation-location's %s", sub.body["id"], id)
		}
		// Poll through the other replica first, then this one: the upstream
		// knows the job only where it was submitted, so every 200 proves
		// the poll went there.
		var statuses []string
		for _, gw := range []*httptest.Server{gwB, gwA} {
			p := call(t, "GET", gw.URL+loc.Path+"?"+loc.RawQuery, "")
			if p.status != http.StatusOK {
				t.Fatalf("poll via %s: status %d; body %s", gw.URL, p.status, p.raw)
			}
			if got := p.header.Get("X-Spillway-Deployment"); got != dep {
				t.Errorf("poll answered by %s, want %s which took the job", got, dep)
			}
			if p.body["id"] != id {
				t.Errorf("poll body id %v, want %s", p.body["id"], id)
			}
			statuses = append(statuses, p.body["status"].(string))
		}
		if strings.Join(statuses, ",") != "running,succeeded" {
			t.Errorf("statuses %v, want running then succeeded", statuses)
		}
	}
	if accepted["east"] != 2 || accepted["west"] != 2 {
		t.Errorf("jobs accepted %v, want 2 each (round robin)", accepted)
	}
}

func TestImageJobIDsAreSigned(t *testing.T) {
	east := newDalle2(t, "east")
	gw := replica(t, OperationKey([]byte("0123456789abcdef0123456789abcdef")), east)
	other := replica(t, OperationKey([]byte("another secret key, 32 bytes...!")), east)

	sub := call(t, "POST", gw.URL+submitPath, `{"prompt":"a lighthouse"}`)
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.raw)
	}
	id := sub.body["id"].(string)
	parts := strings.Split(id, ".")
	tests := []struct {
		name string
		url  string
	}{
		{"another gateway's key", other.URL + "/openai/operations/images/" + id},
		{"tampered deployment", gw.URL + "/openai/operations/images/" + "d2VzdA." + parts[1] + "." + parts[2]},
		{"tampered job", gw.URL + "/openai/operations/images/" + parts[0] + ".YWJj." + parts[2]},
		{"not an id at all", gw.URL + "/openai/operations/images/2cf3c8a4-2d19-4f5a-8b9e-6a7d3c1e0f42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, "GET", tt.url, "")
			if a.status != http.StatusNotFound || !strings.Contains(a.raw, `"code":"operation_not_found"`) {
				t.Errorf("%d %s, want 404 operation_not_found", a.status, a.raw)
			}
		})
	}
	if got := east.mock.Requests(); got != 1 {
		t.Errorf("upstream saw %d requests, want only the submission", got)
	}
}

func TestImageJobSubmitFailsOverPollDoesNot(t *testing.T) {
	east, west := newDalle2(t, "east"), newDalle2(t, "west")
	f, err := mock.ParseFault("429:retry-after=20")
	if err != nil {
		t.Fatal(err)
	}
	east.mock.SetFaults([]mock.Fault{f})
	gw := replica(t, nil, east, west)

	// A 429 means the job was not accepted: the next deployment takes it.
	sub := call(t, "POST", gw.URL+submitPath, `{"prompt":"a lighthouse"}`)
	if sub.status != http.StatusAccepted || sub.header.Get("X-Spillway-Deployment") != "west" {
		t.Fatalf("submit: %d from %q, want 202 from west; %s", sub.status, sub.header.Get("X-Spillway-Deployment"), sub.raw)
	}

	// A poll has nowhere else to go: the upstream's 429 reaches the client.
	east.mock.SetFaults(nil)
	west.mock.SetFaults([]mock.Fault{f})
	loc := sub.header.Get("Operation-Location")
	p := call(t, "GET", loc, "")
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "20" || p.header.Get("X-Spillway-Deployment") != "west" {
		t.Errorf("poll: %d retry-after %q from %q, want west's 429 with retry-after 20", p.status, p.header.Get("Retry-After"), p.header.Get("X-Spillway-Deployment"))
	}
	// Cooling down does not stop the next poll from going there.
	west.mock.SetFaults(nil)
	p = call(t, "GET", loc, "")
	if p.status != http.StatusOK || p.header.Get("X-Spillway-Deployment") != "west" {
		t.Errorf("poll after the 429: %d from %q, want 200 from west; %s", p.status, p.header.Get("X-Spillway-Deployment"), p.raw)
	}
}

func TestImageJobErrorsPassThrough(t *testing.T) {
	east := newDalle2(t, "east")
	gw := replica(t, nil, east)
	sub := call(t, "POST", gw.URL+submitPath, `{"n":1}`)
	if sub.status != http.StatusBadRequest || !strings.Contains(sub.raw, "Missing required parameter: 'prompt'.") {
		t.Errorf("submit without prompt: %d %s, want the upstream's 400", sub.status, sub.raw)
	}
	if got := call(t, "POST", gw.URL+"/openai/images/generations:submit", `{"model":"dall-e-3","prompt":"x"}`); got.status != http.StatusNotFound {
		t.Errorf("submit for an unknown model: %d %s, want 404", got.status, got.raw)
	}
}

func TestImageJobSkipsOpenAIDeployments(t *testing.T) {
	east := newDalle2(t, "east")
	deps := []config.Deployment{
		{ID: "openai", Model: "dall-e-2", Class: config.ClassImages, Provider: config.ProviderOpenAI, Deployment: "dall-e-2", Priority: 1},
		{ID: "east", Model: "dall-e-2", Class: config.ClassImages, Provider: config.ProviderAzure, Endpoint: east.srv.URL, Deployment: "dall-e-2",
			APIVersion: "2023-06-01-preview", APIKey: "key-east", Priority: 2},
	}
	r, err := router.New(router.Options{Now: newClock().Now}, deps)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(New(Options{Router: r, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}), Retries: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(gw.Close)
	sub := call(t, "POST", gw.URL+submitPath, `{"prompt":"x"}`)
	if sub.status != http.StatusAccepted || sub.header.Get("X-Spillway-Deployment") != "east" || sub.header.Get("X-Spillway-Attempts") != "2" {
		t.Errorf("submit: %d from %q after %s attempts, want 202 from east after 2", sub.status, sub.header.Get("X-Spillway-Deployment"), sub.header.Get("X-Spillway-Attempts"))
	}
	for _, s := range r.Status() {
		if s.ID == "openai" && s.State != "serving" {
			t.Errorf("the OpenAI deployment was penalised: %+v", s)
		}
	}
}
