package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
)

// tokenSources hands each deployment a fixed token or failure.
type tokenSources map[string]provider.TokenSource

func (ts tokenSources) Source(d config.Deployment) provider.TokenSource { return ts[d.ID] }

type fixedToken struct {
	tok string
	err error
}

func (f fixedToken) Token(context.Context) (string, error) { return f.tok, f.err }

func TestEntraDeployments(t *testing.T) {
	// Each mock accepts only its deployment's bearer token.
	good := httptest.NewServer(mock.New(mock.Options{Name: "good", RequireKey: "entra-token-good"}))
	t.Cleanup(good.Close)
	bad := httptest.NewServer(mock.New(mock.Options{Name: "bad"}))
	t.Cleanup(bad.Close)
	deps := []config.Deployment{
		{ID: "bad", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: bad.URL, Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, Auth: config.AuthEntra, Priority: 1},
		{ID: "good", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: good.URL, Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, Auth: config.AuthEntra, Priority: 2},
	}
	noToken := &provider.CredentialError{Deployment: "bad", Reason: "managed-identity: authentication failed (HTTP 400)", Err: errors.New("details")}
	clock := newClock()
	r, err := router.New(router.Options{Now: clock.Now, Cooldown: 30 * time.Second, Tokens: tokenSources{
		"bad":  fixedToken{err: noToken},
		"good": fixedToken{tok: "entra-token-good"},
	}}, deps)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(New(Options{Router: r, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}), Transport: tr, Retries: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(gw.Close)

	for i := range 2 {
		a := call(t, "POST", gw.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", `{"messages":[{"role":"user","content":"hi"}]}`)
		if a.status != http.StatusOK || a.header.Get("X-Spillway-Deployment") != "good" {
			t.Fatalf("request %d: %d from %q, want 200 from good (bearer accepted); %s", i, a.status, a.header.Get("X-Spillway-Deployment"), a.raw)
		}
		wantAttempts := "2"
		if i == 1 {
			wantAttempts = "1" // bad is cooling down now
		}
		if got := a.header.Get("X-Spillway-Attempts"); got != wantAttempts {
			t.Errorf("request %d: attempts %s, want %s", i, got, wantAttempts)
		}
	}
	var st router.Status
	for _, s := range r.Status() {
		if s.ID == "bad" {
			st = s
		}
	}
	if st.State != "cooling" || st.CooldownReason != "entra token: managed-identity: authentication failed (HTTP 400)" || st.LastError != st.CooldownReason {
		t.Errorf("routing state of bad: %+v, want cooling with the token failure as reason", st)
	}
	if got := bad.Config.Handler.(*mock.Server).Requests(); got != 0 {
		t.Errorf("the deployment without a token got %d requests, want none", got)
	}

	// With no deployment left, the client learns why.
	clock.Advance(time.Minute)
	r2, _ := router.New(router.Options{Now: clock.Now, Tokens: tokenSources{"bad": fixedToken{err: noToken}}}, deps[:1])
	gw2 := httptest.NewServer(New(Options{Router: r2, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}), Transport: tr,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(gw2.Close)
	a := call(t, "POST", gw2.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	if a.status != http.StatusBadGateway || !strings.Contains(a.raw, "entra token: managed-identity: authentication failed") {
		t.Errorf("%d %s, want 502 naming the token failure", a.status, a.raw)
	}
}

// tokenAuth refuses every credential with a token error.
type tokenAuth struct{}

func (tokenAuth) Authenticate(context.Context, string) (*auth.Principal, error) {
	return nil, &auth.TokenError{Reason: "wrong audience; the token must be issued for api://spillway"}
}

func TestInvalidEntraTokenGets401WithReason(t *testing.T) {
	r, err := router.New(router.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(New(Options{Router: r, Auth: tokenAuth{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(gw.Close)
	a := call(t, "POST", gw.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	want := `{"error":{"message":"invalid Entra ID token: wrong audience; the token must be issued for api://spillway","type":"authentication_error","param":null,"code":"invalid_token"}}`
	if a.status != http.StatusUnauthorized || strings.TrimSpace(a.raw) != want {
		t.Errorf("%d %s, want 401 %s", a.status, a.raw, want)
	}
}
