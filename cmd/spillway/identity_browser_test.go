package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/testutil/githubtest"
	"github.com/spillwayhq/spillway/internal/testutil/oidctest"
)

// identityApp is a gateway with two identity providers running locally:
// a real OIDC provider and a GitHub emulator.
type identityApp struct {
	url    string
	idp    *oidctest.Provider
	github *githubtest.Server
}

func startIdentityApp(t *testing.T) *identityApp {
	t.Helper()
	idp := oidctest.New(oidctest.Options{ClientID: "spillway", ClientSecret: "idp-secret"})
	t.Cleanup(idp.Close)
	gh := githubtest.New("gh-client", "gh-secret")
	t.Cleanup(gh.Close)
	cfg := &config.Config{
		Store:      "sqlite://" + filepath.Join(t.TempDir(), "spillway.db"),
		AdminToken: browserAdmin,
		Identity: config.Identity{
			Providers: []config.IdentityProvider{
				{ID: "corp", Type: "oidc", Name: "Corp SSO", Issuer: idp.Issuer(), ClientID: "spillway", ClientSecret: "idp-secret"},
				{ID: "github", Type: "github", Name: "GitHub", ClientID: "gh-client", ClientSecret: "gh-secret", GitHubURL: gh.URL, GitHubAPIURL: gh.APIURL(), Attendees: true},
			},
			Roles: []config.RoleRule{
				{Role: "organiser", Domains: []string{"events.test"}},
				{Role: "viewer", GitHubOrgs: []string{"acme"}},
			},
		},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := newApp(ctx, cfg, make([]byte, 32), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.usage.Run(bg) }()
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.close(ctx)
		stop()
		wg.Wait()
	})
	return &identityApp{url: srv.URL, idp: idp, github: gh}
}

// TestBrowserIdentitySignIn: an organiser signs in with the OIDC
// provider through the real redirect flow, sees only what an organiser
// may (events, no deployments, keys, usage or audit), creates an event
// that is theirs, and signs out; a GitHub user in the viewer org sees no
// forms; an outsider gets a page that says why; an attendee registers for
// an event with GitHub and gets the same working key twice; the audit log
// has it all.
func TestBrowserIdentitySignIn(t *testing.T) {
	s := startIdentityApp(t)
	s.idp.SetUser(oidctest.User{Subject: "u-ann", Email: "ann@events.test", EmailVerified: true, Name: "Ann"})
	b := newBrowser(t, 1280, 900)
	b.do(t, "open the portal", chromedp.Navigate(s.url+"/admin"), chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/signin/corp"]`)))
	if got := eval[string](t, b, `document.querySelector('a[href="/admin/signin/corp"]').textContent`); got != "Sign in with Corp SSO" {
		t.Errorf("button = %q, want Sign in with Corp SSO", got)
	}
	b.do(t, "sign in with Corp SSO", chromedp.Click(chromedp.CSS(`a[href="/admin/signin/corp"]`)), chromedp.WaitVisible(chromedp.ID("tab-events")))
	who := waitFor[string](t, b, "who is signed in", `document.getElementById('whoami').textContent`)
	if who != "ann@events.test · organiser" {
		t.Errorf("whoami = %q, want ann@events.test · organiser", who)
	}
	if c := eval[string](t, b, "document.cookie"); c != "" {
		t.Errorf("document.cookie = %q, want the session cookie hidden from scripts", c)
	}
	for _, id := range []string{"tab-deployments", "tab-keys", "tab-usage", "tab-audit", "panel-deployments"} {
		if eval[bool](t, b, `!!document.getElementById('`+id+`')`) {
			t.Errorf("an organiser sees #%s", id)
		}
	}
	if !eval[bool](t, b, `!document.getElementById('panel-events').hidden && !!document.getElementById('event-form')`) {
		t.Error("an organiser does not see the events panel and its form")
	}
	status := func(expr string) int {
		v, err := runStep(b, chromedp.Evaluate[int](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	csrf := `document.querySelector('meta[name=csrf-token]').content`
	if got := status(`fetch('/admin/v1/events', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'Ann hack', start: '2026-12-01T09:00:00Z', end: '2026-12-02T09:00:00Z'})}).then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("POST without the CSRF header: status %d, want 401", got)
	}
	if got := status(`fetch('/admin/v1/events', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': ` + csrf + `}, body: JSON.stringify({name: 'Ann hack', start: '2026-12-01T09:00:00Z', end: '2026-12-02T09:00:00Z'})}).then(r => r.status)`); got != http.StatusCreated {
		t.Errorf("POST an event with the CSRF header: status %d, want 201", got)
	}
	if got := status(`fetch('/admin/v1/deployments').then(r => r.status)`); got != http.StatusForbidden {
		t.Errorf("an organiser's GET /admin/v1/deployments: %d, want 403", got)
	}
	b.do(t, "reload the events", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("tab-events")))
	waitFor[bool](t, b, "ann's event", `Array.from(document.querySelectorAll('#events-table td')).some(c => c.textContent === 'Ann hack')`)
	b.do(t, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/signin/corp"]`)))
	if got := status(`fetch('/admin/v1/events').then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("GET after signing out: %d, want 401", got)
	}

	// A GitHub viewer: no forms, no row actions.
	s.github.SetUser(githubtest.User{ID: 7, Login: "octo", Email: "octo@users.test", Verified: true, Orgs: []string{"acme"}})
	b.do(t, "sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/admin/signin/github"]`)), chromedp.WaitVisible(chromedp.ID("tab-deployments")))
	if who := waitFor[string](t, b, "who is signed in", `document.getElementById('whoami').textContent`); who != "octo@users.test · viewer" {
		t.Errorf("whoami = %q, want octo@users.test · viewer", who)
	}
	for _, id := range []string{"deployment-form", "key-form", "event-form", "team-form", "team-key-form"} {
		if eval[bool](t, b, `!!document.getElementById('`+id+`')`) {
			t.Errorf("a viewer sees #%s", id)
		}
	}
	b.do(t, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/signin/github"]`)))

	// An outsider: refused with the reason.
	s.idp.SetUser(oidctest.User{Subject: "u-eve", Email: "eve@elsewhere.test", EmailVerified: true})
	b.do(t, "sign in as an outsider", chromedp.Click(chromedp.CSS(`a[href="/admin/signin/corp"]`)), chromedp.WaitVisible(chromedp.ID("refused-reason")))
	if reason := eval[string](t, b, `document.getElementById('refused-reason').textContent`); !strings.Contains(reason, "eve@elsewhere.test") || !strings.Contains(reason, "identity.roles") {
		t.Errorf("refusal = %q, want it to name the identity and identity.roles", reason)
	}

	// An attendee registers for an event by signing in with GitHub, and
	// gets the same key when signing in again.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/admin/v1/events", strings.NewReader(`{"name":"Open hack","start":"2026-01-01T00:00:00Z","end":"2099-01-01T00:00:00Z","signin_registration":true}`))
	req.Header.Set("Authorization", "Bearer "+browserAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create event: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	s.github.SetUser(githubtest.User{ID: 8, Login: "attendee", Email: "att@users.test", Verified: true})
	b.do(t, "open the event's registration page", chromedp.Navigate(s.url+"/register/"+ev.ID), chromedp.WaitVisible(chromedp.ID("register-how")))
	b.do(t, "register with GitHub", chromedp.Click(chromedp.CSS(`a[href="/register/`+ev.ID+`/signin/github"]`)), chromedp.WaitVisible(chromedp.ID("attendee-key")))
	key := eval[string](t, b, `document.getElementById('attendee-key').textContent`)
	if !strings.HasPrefix(key, "sk-") {
		t.Fatalf("attendee key %q, want sk-...", key)
	}
	b.do(t, "register again", chromedp.Navigate(s.url+"/register/"+ev.ID), chromedp.WaitVisible(chromedp.ID("register-how")),
		chromedp.Click(chromedp.CSS(`a[href="/register/`+ev.ID+`/signin/github"]`)), chromedp.WaitVisible(chromedp.ID("attendee-key")))
	if again := eval[string](t, b, `document.getElementById('attendee-key').textContent`); again != key {
		t.Errorf("signing in again shows %q, want the same key %q", again, key)
	}
	chatReq, _ := http.NewRequest(http.MethodGet, s.url+"/v1/models", nil)
	chatReq.Header.Set("Authorization", "Bearer "+key)
	if resp, err := http.DefaultClient.Do(chatReq); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models with the attendee key: %v %v, want 200", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	// The owner reads it all in the audit log.
	req, _ = http.NewRequest(http.MethodGet, s.url+"/admin/v1/audit?resource=sessions", nil)
	req.Header.Set("Authorization", "Bearer "+browserAdmin)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct{ Actor, Action string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Data {
		got = append(got, e.Action+" "+e.Actor)
	}
	want := "signin_failed corp:eve@elsewhere.test|signout github:octo|signin github:octo|signout corp:ann@events.test|signin corp:ann@events.test"
	if strings.Join(got, "|") != want {
		t.Errorf("audit of sessions = %q, want %q", strings.Join(got, "|"), want)
	}
}
