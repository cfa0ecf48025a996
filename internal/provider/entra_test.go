package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/spillwayhq/spillway/internal/config"
)

// testClock starts at the real time, because azidentity computes a
// token's expiry from the real clock, and moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenEndpoint stands in for Entra ID or a managed identity endpoint. It
// issues tok-1, tok-2, ... valid for lifetime; fail makes it refuse, and a
// non-nil gate holds each token request until a value arrives.
type tokenEndpoint struct {
	mu       sync.Mutex
	issued   int
	requests []*http.Request
	form     []map[string][]string
	lifetime time.Duration
	fail     bool
	gate     chan struct{}
}

func (te *tokenEndpoint) next(r *http.Request) (string, bool) {
	te.mu.Lock()
	gate := te.gate
	te.mu.Unlock()
	if gate != nil {
		<-gate
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	te.requests = append(te.requests, r)
	te.form = append(te.form, r.PostForm)
	if te.fail {
		return "", false
	}
	te.issued++
	return "tok-" + strconv.Itoa(te.issued), true
}

func (te *tokenEndpoint) count() int {
	te.mu.Lock()
	defer te.mu.Unlock()
	return len(te.requests)
}

func (te *tokenEndpoint) set(f func(te *tokenEndpoint)) {
	te.mu.Lock()
	defer te.mu.Unlock()
	f(te)
}

// entraServer serves a tenant's OpenID configuration and token endpoint,
// over TLS as MSAL requires of an authority.
func entraServer(t *testing.T, te *tokenEndpoint) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			tenant := strings.Split(r.URL.Path, "/")[1]
			base := srv.URL + "/" + tenant
			_ = json.NewEncoder(w).Encode(map[string]string{
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"issuer":                 base + "/v2.0",
			})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			_ = r.ParseForm()
			tok, ok := te.next(r)
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.","error_codes":[7000215]}`)
				return
			}
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":%d,"ext_expires_in":%d,"access_token":%q}`, int(te.lifetime.Seconds()), int(te.lifetime.Seconds()), tok)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestTokens(t *testing.T, clock *testClock, transport policy.Transporter) *EntraTokens {
	t.Helper()
	e := NewEntraTokens(EntraOptions{Now: clock.Now, Transport: transport, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: policy.RetryOptions{MaxRetries: -1}})
	t.Cleanup(e.Close)
	return e
}

func entraDeployment(srv *httptest.Server) config.Deployment {
	return config.Deployment{ID: "east", Provider: config.ProviderAzure, Auth: config.AuthEntra, Entra: &config.Entra{
		Mode: config.EntraClientSecret, TenantID: "tenant-1", ClientID: "app-1", ClientSecret: "s3cret", AuthorityHost: srv.URL + "/"}}
}

// waitRefresh waits for the fetch under way, if any.
func waitRefresh(ts TokenSource) {
	s := ts.(*tokenSource)
	s.mu.Lock()
	ch := s.fetching
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func TestEntraClientSecretTokens(t *testing.T) {
	// 4 minutes: inside MSAL's own 5-minute renewal window, so its cache
	// never answers for the token endpoint and every fetch reaches it.
	te := &tokenEndpoint{lifetime: 4 * time.Minute}
	srv := entraServer(t, te)
	clock := &testClock{t: time.Now()}
	e := newTestTokens(t, clock, srv.Client())
	ts := e.Source(entraDeployment(srv))
	ctx := context.Background()

	// First use: one fetch, shared by every request that arrives meanwhile.
	te.set(func(te *tokenEndpoint) { te.gate = make(chan struct{}) })
	var wg sync.WaitGroup
	got := make([]string, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = ts.Token(ctx) }()
	}
	te.gate <- struct{}{}
	wg.Wait()
	te.set(func(te *tokenEndpoint) { te.gate = nil })
	for i := range got {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Fatalf("request %d: %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	if n := te.count(); n != 1 {
		t.Errorf("token requests = %d, want 1 for 8 concurrent first uses", n)
	}
	f := te.form[0]
	for k, want := range map[string]string{"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cret"} {
		if v := f[k]; len(v) != 1 || v[0] != want {
			t.Errorf("token request %s = %v, want %s", k, v, want)
		}
	}
	if v := f["scope"]; len(v) != 1 || !slices.Contains(strings.Fields(v[0]), ScopeCognitiveServices) {
		t.Errorf("token request scope = %v, want %s among them", v, ScopeCognitiveServices)
	}

	// Cached: no request while the token is young.
	clock.Advance(time.Minute)
	if tok, err := ts.Token(ctx); tok != "tok-1" || err != nil || te.count() != 1 {
		t.Fatalf("at 1m: %q %v after %d requests, want the cached tok-1", tok, err, te.count())
	}

	// Due for renewal (half of 4m): the request gets the current token at
	// once while the renewal is held at the endpoint.
	clock.Advance(70 * time.Second)
	te.set(func(te *tokenEndpoint) { te.gate = make(chan struct{}) })
	if tok, err := ts.Token(ctx); tok != "tok-1" || err != nil {
		t.Fatalf("renewal due: %q %v, want tok-1 without waiting", tok, err)
	}
	te.gate <- struct{}{}
	waitRefresh(ts)
	te.set(func(te *tokenEndpoint) { te.gate = nil })
	if tok, err := ts.Token(ctx); tok != "tok-2" || err != nil {
		t.Fatalf("after renewal: %q %v, want tok-2", tok, err)
	}

	// The same deployment after a config reload keeps its source and token.
	if again := e.Source(entraDeployment(srv)); again != ts {
		t.Error("an unchanged deployment got a new token source")
	}
}

func TestEntraTokenFailure(t *testing.T) {
	te := &tokenEndpoint{lifetime: 4 * time.Minute, fail: true}
	srv := entraServer(t, te)
	clock := &testClock{t: time.Now()}
	e := newTestTokens(t, clock, srv.Client())
	ts := e.Source(entraDeployment(srv))

	_, err := ts.Token(context.Background())
	var ce *CredentialError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CredentialError", err)
	}
	if want := "client-secret: authentication failed (HTTP 401, AADSTS7000215)"; ce.Reason != want {
		t.Errorf("reason = %q, want %q", ce.Reason, want)
	}
	if strings.Contains(ce.Error(), "s3cret") {
		t.Error("the error shows the client secret")
	}
	// Within the backoff the failure is answered without asking again.
	n := te.count()
	if _, err := ts.Token(context.Background()); !errors.As(err, &ce) || te.count() != n {
		t.Errorf("within the backoff: %v after %d requests (was %d), want the same failure, no request", err, te.count(), n)
	}
	// Then the endpoint is asked again, and recovery is immediate.
	te.set(func(te *tokenEndpoint) { te.fail = false })
	clock.Advance(failureBackoff)
	if tok, err := ts.Token(context.Background()); tok != "tok-1" || err != nil {
		t.Errorf("after the backoff: %q %v, want tok-1", tok, err)
	}
}

func TestEntraManagedIdentityEndpoint(t *testing.T) {
	te := &tokenEndpoint{lifetime: 4 * time.Minute}
	var mu sync.Mutex
	var gotHeader, gotResource, gotClientID string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotHeader, gotResource, gotClientID = r.Header.Get("X-Identity-Header"), r.URL.Query().Get("resource"), r.URL.Query().Get("client_id")
		mu.Unlock()
		tok, ok := te.next(r)
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"statusCode":400,"message":"No managed identity found for the specified ClientId/ResourceId/PrincipalId.","correlationId":"x"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"expires_on":"%d","resource":%q,"token_type":"Bearer","client_id":"mi-client"}`,
			tok, time.Now().Add(te.lifetime).Unix(), r.URL.Query().Get("resource"))
	}))
	t.Cleanup(srv.Close)
	// App Service's managed identity: azidentity reads these at setup.
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "identity-header-value")

	clock := &testClock{t: time.Now()}
	e := newTestTokens(t, clock, nil)
	d := config.Deployment{ID: "search", Provider: config.ProviderAzureSearch, Auth: config.AuthEntra,
		Entra: &config.Entra{Mode: config.EntraManagedIdentity, ClientID: "mi-client"}}
	ts := e.Source(d)
	for range 3 {
		if tok, err := ts.Token(context.Background()); tok != "tok-1" || err != nil {
			t.Fatalf("Token = %q, %v; want tok-1", tok, err)
		}
	}
	mu.Lock()
	if gotHeader != "identity-header-value" || gotResource != "https://search.azure.com" || gotClientID != "mi-client" {
		t.Errorf("managed identity request: header %q resource %q client_id %q", gotHeader, gotResource, gotClientID)
	}
	mu.Unlock()
	if n := te.count(); n != 1 {
		t.Errorf("token requests = %d, want 1 (cached)", n)
	}

	// Renewal in the background through Run's check, with no request.
	clock.Advance(2*time.Minute + time.Second)
	e.refreshDue()
	waitRefresh(ts)
	if tok, _ := ts.Token(context.Background()); tok != "tok-2" || te.count() != 2 {
		t.Errorf("after the background renewal: %q after %d requests, want tok-2 after 2", tok, te.count())
	}

	// Past expiry with the endpoint failing: no token, a clear reason.
	te.set(func(te *tokenEndpoint) { te.fail = true })
	clock.Advance(5 * time.Minute)
	_, err := ts.Token(context.Background())
	var ce *CredentialError
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, "managed-identity: ") {
		t.Errorf("err = %v, want a managed-identity CredentialError", err)
	}
}

func TestEntraSetupFailure(t *testing.T) {
	// Workload identity without its environment cannot be set up; the
	// deployment's requests fail with that reason.
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	t.Setenv("AZURE_CLIENT_ID", "")
	t.Setenv("AZURE_TENANT_ID", "")
	e := newTestTokens(t, &testClock{t: time.Now()}, nil)
	ts := e.Source(config.Deployment{ID: "k8s", Provider: config.ProviderAzure, Auth: config.AuthEntra, Entra: &config.Entra{Mode: config.EntraWorkloadIdentity}})
	_, err := ts.Token(context.Background())
	var ce *CredentialError
	if !errors.As(err, &ce) || ce.Reason != "workload-identity: cannot set up the credential (see the log)" {
		t.Errorf("err = %v, want the setup failure", err)
	}
}

func TestAuthorizeWithTokens(t *testing.T) {
	tg, err := NewTarget(config.Deployment{Provider: "azure", Endpoint: "https://h", Deployment: "d", APIVersion: "2024-10-21", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if err := tg.WithTokens(staticToken("abc")).Authorize(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if got := h.Get("Authorization"); got != "Bearer abc" || h.Get("Api-Key") != "" {
		t.Errorf("headers %v, want only Authorization: Bearer abc", h)
	}
	h = http.Header{}
	if err := tg.Authorize(context.Background(), h); err != nil || h.Get("Api-Key") != "k" {
		t.Errorf("static target: %v %v, want api-key k", err, h)
	}
}

type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

func TestEntraUnreachableAuthority(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	url := srv.URL
	client := srv.Client()
	srv.Close() // nothing listens there now
	e := newTestTokens(t, &testClock{t: time.Now()}, client)
	ts := e.Source(config.Deployment{ID: "east", Provider: config.ProviderAzure, Auth: config.AuthEntra, Entra: &config.Entra{
		Mode: config.EntraClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", AuthorityHost: url + "/"}})
	_, err := ts.Token(context.Background())
	var ce *CredentialError
	if !errors.As(err, &ce) || ce.Reason != "client-secret: token endpoint unreachable (connection refused)" {
		t.Errorf("err = %v, want an unreachable token endpoint", err)
	}
}
