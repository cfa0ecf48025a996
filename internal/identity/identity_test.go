package identity_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/identity"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/testutil/githubtest"
	"github.com/spillwayhq/spillway/internal/testutil/oidctest"
)

// gateway is the sign-in service in front of a real SQLite store, with a
// stand-in portal at /admin/ that prints who the session is.
type gateway struct {
	t         testing.TB
	store     store.Store
	svc       *identity.Service
	server    *httptest.Server
	client    *http.Client
	idp       *oidctest.Provider
	github    *githubtest.Server
	clock     *clock
	transport *http.Transport
	attendees *admin.Attendees
}

// clock is an injected clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
	// skew is how far the identity provider's clock is off ours.
	skew time.Duration
}

// IdP is the identity provider's clock.
func (c *clock) IdP() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now.Add(c.skew)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var roles = []config.RoleRule{
	{Role: "owner", Emails: []string{"boss@example.com"}},
	{Role: "owner", Groups: []string{"spillway-admins"}},
	{Role: "operator", Domains: []string{"example.com"}},
	{Role: "viewer", GitHubOrgs: []string{"acme"}},
	{Role: "operator", GitHubTeams: []string{"acme/platform"}},
	{Role: "organiser", Provider: "github", Emails: []string{"org@events.test"}},
}

func newGateway(t testing.TB) *gateway {
	t.Helper()
	clk := &clock{now: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "spillway.db"), store.Options{Now: clk.Now})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	idp := oidctest.New(oidctest.Options{ClientID: "spillway", ClientSecret: "idp-secret", Now: clk.IdP})
	t.Cleanup(idp.Close)
	gh := githubtest.New("gh-client", "gh-secret")
	t.Cleanup(gh.Close)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	g := &gateway{t: t, store: st, idp: idp, github: gh, clock: clk, transport: transport}
	g.attendees = admin.NewAttendees(admin.Options{Store: st, Secret: key, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	g.svc = g.service(key)
	mux := http.NewServeMux()
	for _, p := range identity.Patterns {
		mux.Handle(p, g.svc)
	}
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		if a, ok := g.svc.Admin(r); ok {
			fmt.Fprintf(w, "signed in: %s %s", a.ID, a.Role)
			return
		}
		fmt.Fprint(w, "signed out")
	})
	g.server = httptest.NewServer(mux)
	t.Cleanup(g.server.Close)
	g.client = g.browser()
	return g
}

// service is a Service on the gateway's store, as another replica has.
func (g *gateway) service(key []byte) *identity.Service {
	return identity.New(identity.Options{
		Config: config.Identity{
			Providers: []config.IdentityProvider{
				{ID: "corp", Type: "oidc", Name: "Corp SSO", Issuer: g.idp.Issuer(), ClientID: "spillway", ClientSecret: "idp-secret"},
				{ID: "github", Type: "github", ClientID: "gh-client", ClientSecret: "gh-secret", GitHubURL: g.github.URL, GitHubAPIURL: g.github.APIURL(), Attendees: true},
			},
			Roles: roles,
		},
		Store:  g.store,
		Key:    func() []byte { return key },
		Client: &http.Client{Transport: g.transport},
		Now:    g.clock.Now,
		Logger: slog.New(slog.DiscardHandler),
		Register: func(ctx context.Context, eventID, attendee, email string) (identity.Registration, error) {
			r, err := g.attendees.Register(ctx, eventID, attendee, email)
			return identity.Registration{EventName: r.Event.Name, Key: r.Key, New: r.New}, err
		},
	})
}

// browser is a client with its own cookies that follows redirects.
func (g *gateway) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: g.transport}
}

// get fetches a URL and returns the final status and body.
func (g *gateway) get(c *http.Client, u string) (int, string) {
	g.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		g.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signIn runs the whole flow with provider for the browser c.
func (g *gateway) signIn(c *http.Client, provider string) (int, string) {
	g.t.Helper()
	return g.get(c, g.server.URL+"/admin/signin/"+provider)
}

func TestOIDCSignIn(t *testing.T) {
	tests := []struct {
		name string
		user oidctest.User
		want string
	}{
		{"email", oidctest.User{Subject: "u1", Email: "boss@example.com", EmailVerified: true}, "signed in: corp:boss@example.com owner"},
		{"domain", oidctest.User{Subject: "u2", Email: "Ann@Example.com", EmailVerified: true}, "signed in: corp:ann@example.com operator"},
		{"group", oidctest.User{Subject: "u3", Email: "x@elsewhere.test", EmailVerified: true, Groups: []string{"spillway-admins"}}, "signed in: corp:x@elsewhere.test owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			g.idp.SetUser(tc.user)
			code, body := g.signIn(g.client, "corp")
			if code != http.StatusOK || body != tc.want {
				t.Fatalf("sign-in: %d %q, want 200 %q", code, body, tc.want)
			}
			entries, _, err := g.store.QueryAudit(t.Context(), store.AuditQuery{Action: "signin"})
			if err != nil || len(entries) != 1 || entries[0].Address != "127.0.0.1" || !entries[0].At.Equal(g.clock.Now()) {
				t.Errorf("audit = %+v, %v; want one signin entry from 127.0.0.1 at the injected time", entries, err)
			}
		})
	}
}

// TestSessionCookie: the session cookie is HttpOnly and SameSite=Lax,
// not Secure on loopback HTTP, and the flow cookie is gone after the
// callback.
func TestSessionCookie(t *testing.T) {
	g := newGateway(t)
	g.idp.SetUser(oidctest.User{Subject: "u", Email: "ann@example.com", EmailVerified: true})
	nofollow := &http.Client{Transport: g.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	jar, _ := cookiejar.New(nil)
	nofollow.Jar = jar
	resp, err := nofollow.Get(g.server.URL + "/admin/signin/corp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	flowCookie := resp.Header.Get("Set-Cookie")
	if !strings.Contains(flowCookie, "HttpOnly") || !strings.Contains(flowCookie, "SameSite=Lax") || !strings.Contains(flowCookie, "Path=/admin/callback/") {
		t.Errorf("flow cookie %q, want HttpOnly, SameSite=Lax, Path=/admin/callback/", flowCookie)
	}
	at := resp.Header.Get("Location")
	u, _ := url.Parse(at)
	if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("nonce") == "" || u.Query().Get("state") == "" {
		t.Errorf("authorize URL %s, want PKCE S256, a nonce and a state", at)
	}
	resp, err = nofollow.Get(at)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = nofollow.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "spillway_session=") {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(session, "HttpOnly") || !strings.Contains(session, "SameSite=Lax") || strings.Contains(session, "Secure") || !strings.Contains(session, "Path=/admin") {
		t.Errorf("callback: %d, session cookie %q; want 303 and HttpOnly, SameSite=Lax, Path=/admin, not Secure on loopback", resp.StatusCode, session)
	}
}

// TestSignInRefused: an unmapped identity, a wrong issuer, an expired or
// replayed ID token, a bad state and a replayed callback are each refused
// with a page that says why, and written to the audit log.
func TestSignInRefused(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(g *gateway)
		run    func(g *gateway) (int, string)
		status int
		reason string
		// signedIn: the browser signed in legitimately before the attempt.
		signedIn bool
	}{
		{
			name: "unmapped",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "eve@other.test", EmailVerified: true})
			},
			status: http.StatusForbidden, reason: "no rule under identity.roles",
		},
		{
			name: "unverified email",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: false})
			},
			status: http.StatusForbidden, reason: "no verified email",
		},
		{
			name: "wrong issuer",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
				g.idp.SetTokenIssuer("https://evil.example")
			},
			status: http.StatusUnauthorized, reason: "issued by a different provider",
		},
		{
			name: "expired ID token",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
			},
			run: func(g *gateway) (int, string) {
				// The provider's clock runs an hour behind ours: its
				// 5-minute token has long expired by our clock.
				return g.signInWithSkew(-time.Hour)
			},
			status: http.StatusUnauthorized, reason: "token is expired",
		},
		{
			name: "replayed ID token",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
				if code, body := g.signIn(g.browser(), "corp"); code != http.StatusOK || !strings.Contains(body, "signed in") {
					g.t.Fatalf("first sign-in: %d %s", code, body)
				}
				g.idp.ReplayLastIDToken(true)
			},
			status: http.StatusUnauthorized, reason: "nonce",
		},
		{
			name: "bad state",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
			},
			run: func(g *gateway) (int, string) {
				return g.callbackWith(func(q url.Values) { q.Set("state", "forged") })
			},
			status: http.StatusBadRequest, reason: "state",
		},
		{
			name: "no flow cookie (CSRF login)",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
			},
			run: func(g *gateway) (int, string) {
				// An attacker's own callback URL, opened in the victim's
				// browser, which never started a sign-in.
				return g.get(g.browser(), g.server.URL+"/admin/callback/corp?code=attacker&state=attacker")
			},
			status: http.StatusBadRequest, reason: "no sign-in in progress",
		},
		{
			name: "replayed callback",
			setup: func(g *gateway) {
				g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
			},
			run: func(g *gateway) (int, string) {
				first, code, body := g.callbackURL()
				if code != http.StatusOK || !strings.Contains(body, "signed in") {
					g.t.Fatalf("first callback: %d %s", code, body)
				}
				return g.get(g.client, first)
			},
			status: http.StatusBadRequest, reason: "no sign-in in progress", signedIn: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			tc.setup(g)
			run := tc.run
			if run == nil {
				run = func(g *gateway) (int, string) { return g.signIn(g.client, "corp") }
			}
			code, body := run(g)
			if code != tc.status || !strings.Contains(body, tc.reason) || !strings.Contains(body, "Sign-in refused") {
				t.Errorf("status %d, page %s; want %d saying %q", code, body, tc.status, tc.reason)
			}
			if _, page := g.get(g.client, g.server.URL+"/admin/"); page != "signed out" && !tc.signedIn {
				t.Errorf("after the refusal the portal says %q, want signed out", page)
			}
			failed, _, _ := g.store.QueryAudit(t.Context(), store.AuditQuery{Action: "signin_failed"})
			if len(failed) != 1 || failed[0].Status != tc.status {
				t.Errorf("signin_failed entries = %+v, want one with status %d", failed, tc.status)
			}
		})
	}
}

// signInWithSkew runs a sign-in while the provider's clock is off by d.
func (g *gateway) signInWithSkew(d time.Duration) (int, string) {
	g.t.Helper()
	g.clock.mu.Lock()
	g.clock.skew = d
	g.clock.mu.Unlock()
	return g.signIn(g.client, "corp")
}

// callbackURL runs the flow up to the provider's redirect back, then
// follows it, and returns that callback URL and the final answer.
func (g *gateway) callbackURL() (string, int, string) {
	g.t.Helper()
	var callback string
	c := &http.Client{Transport: g.transport, Jar: g.client.Jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.Path, "/admin/callback/") {
			callback = req.URL.String()
		}
		return nil
	}}
	code, body := g.get(c, g.server.URL+"/admin/signin/corp")
	return callback, code, body
}

// callbackWith runs the flow but changes the callback's query first.
func (g *gateway) callbackWith(edit func(url.Values)) (int, string) {
	g.t.Helper()
	c := &http.Client{Transport: g.transport, Jar: g.client.Jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.Path, "/admin/callback/") && req.URL.Query().Get("code") != "" {
			q := req.URL.Query()
			edit(q)
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	return g.get(c, g.server.URL+"/admin/signin/corp")
}

func TestGitHubSignIn(t *testing.T) {
	tests := []struct {
		name   string
		user   githubtest.User
		status int
		want   string
	}{
		{"org member", githubtest.User{ID: 1, Login: "octo", Email: "octo@users.test", Verified: true, Orgs: []string{"acme"}}, 200, "signed in: github:octo viewer"},
		{"team member", githubtest.User{ID: 2, Login: "plat", Email: "plat@users.test", Verified: true, Orgs: []string{"acme"}, Teams: []string{"acme/platform"}}, 200, "signed in: github:plat operator"},
		{"provider-only rule", githubtest.User{ID: 3, Login: "org", Email: "org@events.test", Verified: true}, 200, "signed in: github:org organiser"},
		{"outsider", githubtest.User{ID: 4, Login: "eve", Email: "eve@evil.test", Verified: true, Orgs: []string{"evilcorp"}}, 403, "GitHub orgs evilcorp"},
		{"unverified email", githubtest.User{ID: 5, Login: "sly", Email: "boss@example.com", Verified: false}, 403, "no verified email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			g.github.SetUser(tc.user)
			code, body := g.signIn(g.client, "github")
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("sign-in: %d %q, want %d containing %q", code, body, tc.status, tc.want)
			}
		})
	}
}

// TestSignOutEverywhere: a session works on every replica until it is
// signed out on one; signing out needs the session's CSRF token; a
// change through the session needs it too.
func TestSignOutEverywhere(t *testing.T) {
	g := newGateway(t)
	g.idp.SetUser(oidctest.User{Subject: "u", Email: "ann@example.com", EmailVerified: true})
	if code, body := g.signIn(g.client, "corp"); code != http.StatusOK || !strings.Contains(body, "operator") {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	u, _ := url.Parse(g.server.URL + "/admin/")
	var cookie *http.Cookie
	for _, c := range g.client.Jar.Cookies(u) {
		if c.Name == "spillway_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie in the browser")
	}
	other := g.service(nil) // a second replica
	req := func(method, csrf string) *http.Request {
		r := httptest.NewRequestWithContext(t.Context(), method, "/admin/v1/keys", nil)
		r.AddCookie(cookie)
		if csrf != "" {
			r.Header.Set("X-CSRF-Token", csrf)
		}
		return r
	}
	if a, ok := other.Admin(req("GET", "")); !ok || a.ID != "corp:ann@example.com" || a.Role != "operator" {
		t.Errorf("other replica's Admin(GET) = %+v, %v; want ann, operator", a, ok)
	}
	if _, ok := other.Admin(req("POST", "")); ok {
		t.Error("a POST without the CSRF token passed")
	}
	if _, ok := other.Admin(req("POST", "wrong")); ok {
		t.Error("a POST with a wrong CSRF token passed")
	}
	csrf, ok := g.svc.CSRF(req("GET", ""))
	if !ok {
		t.Fatal("CSRF: no session")
	}
	if _, ok := other.Admin(req("POST", csrf)); !ok {
		t.Error("a POST with the session's CSRF token was refused")
	}
	rec := httptest.NewRecorder()
	if g.svc.SignOut(rec, req("POST", ""), "wrong") {
		t.Error("SignOut with a wrong CSRF token succeeded")
	}
	if !g.svc.SignOut(rec, req("POST", ""), csrf) {
		t.Fatal("SignOut with the CSRF token failed")
	}
	if _, ok := other.Admin(req("GET", "")); ok {
		t.Error("the other replica still accepts the session after sign-out")
	}
	out, _, _ := g.store.QueryAudit(t.Context(), store.AuditQuery{Action: "signout"})
	if len(out) != 1 || out[0].Actor != "corp:ann@example.com" {
		t.Errorf("signout entries = %+v, want one for ann", out)
	}
	// An expired session is refused too.
	if code, _ := g.signIn(g.client, "corp"); code != http.StatusOK {
		t.Fatal("second sign-in failed")
	}
	g.clock.Add(identity.DefaultSessionTTL)
	if _, page := g.get(g.client, g.server.URL+"/admin/"); page != "signed out" {
		t.Errorf("after the session's TTL the portal says %q, want signed out", page)
	}
}

func TestUnknownProvider(t *testing.T) {
	g := newGateway(t)
	if code, body := g.signIn(g.client, "nope"); code != http.StatusNotFound || !strings.Contains(body, "no identity provider") {
		t.Errorf("unknown provider: %d %s, want 404 saying so", code, body)
	}
}

// TestTokenSessionsEndWithTheToken: a portal session begun with the admin
// token lasts while the token does; a rotation (a new epoch) ends it on
// every replica.
func TestTokenSessionsEndWithTheToken(t *testing.T) {
	g := newGateway(t)
	epoch := "one"
	svc := identity.New(identity.Options{Store: g.store, Now: g.clock.Now, TokenEpoch: func() string { return epoch }, Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	if err := svc.Begin(rec, httptest.NewRequestWithContext(t.Context(), "POST", "/admin/login", nil), auth.StaticAdmin, "admin-token"); err != nil {
		t.Fatalf("Begin: %v", err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Begin set cookies %v, want one", cookies)
	}
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/admin/v1/keys", nil)
	req.AddCookie(cookies[0])
	if a, ok := svc.Admin(req); !ok || a.Role != auth.RoleOwner || a.ID != "admin-token" {
		t.Errorf("Admin = %+v, %v; want the admin token's owner", a, ok)
	}
	epoch = "two"
	if _, ok := svc.Admin(req); ok {
		t.Error("the session outlived a rotation of the admin token")
	}
	noEpoch := identity.New(identity.Options{Store: g.store, Now: g.clock.Now})
	if err := noEpoch.Begin(httptest.NewRecorder(), req, auth.StaticAdmin, "admin-token"); err == nil {
		t.Error("Begin with the admin token and no epoch succeeded")
	}
}
