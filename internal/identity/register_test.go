package identity_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/testutil/githubtest"
)

// event stores an event that is on now.
func (g *gateway) event(id string, signin bool, domains ...string) {
	g.t.Helper()
	now := g.clock.Now()
	_, err := g.store.CreateEvent(g.t.Context(), store.Event{
		ID: id, Name: "Hack " + id, Active: true, Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour),
		SignInRegistration: signin, SignInDomains: domains,
	})
	if err != nil {
		g.t.Fatalf("CreateEvent: %v", err)
	}
}

var keyOnPage = regexp.MustCompile(`<code id="attendee-key">([^<]+)</code>`)

// TestAttendeeSignInRegistration: an attendee signs in with GitHub and
// gets a key; signing in again (another browser) shows the same key; the
// event page says how; a domain restriction, an event without sign-in
// registration and a provider not meant for attendees are refused.
func TestAttendeeSignInRegistration(t *testing.T) {
	g := newGateway(t)
	g.event("ev_open", true)
	g.event("ev_acme", true, "acme.test")
	g.event("ev_code_only", false)
	g.github.SetUser(githubtest.User{ID: 9, Login: "octo", Email: "octo@users.test", Verified: true})

	code, page := g.get(g.client, g.server.URL+"/register/ev_open")
	if code != http.StatusOK || !strings.Contains(page, `href="/register/ev_open/signin/github">Sign in with GitHub`) || strings.Contains(page, "signin/corp") {
		t.Errorf("event page: %d %s; want a GitHub button and no Corp SSO one", code, page)
	}
	code, page = g.get(g.client, g.server.URL+"/register/ev_open/signin/github")
	m := keyOnPage.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "sk-") {
		t.Fatalf("registration: %d %s; want a page with the key", code, page)
	}
	k, err := g.store.AttendeeKey(t.Context(), "ev_open", "github:octo")
	if err != nil || k.EventID != "ev_open" {
		t.Errorf("stored attendee key = %+v, %v; want one for github:octo", k, err)
	}
	code, again := g.get(g.browser(), g.server.URL+"/register/ev_open/signin/github")
	if m2 := keyOnPage.FindStringSubmatch(again); code != http.StatusOK || m2 == nil || m2[1] != m[1] || !strings.Contains(again, "the one you already had") {
		t.Errorf("signing in again: %d %s; want the same key %s", code, again, m[1])
	}
	if code, page := g.get(g.client, g.server.URL+"/register/ev_acme"); code != http.StatusOK || !strings.Contains(page, "only verified email addresses at acme.test") {
		t.Errorf("restricted event page: %d %s; want it to name the domain", code, page)
	}
	if code, page := g.get(g.client, g.server.URL+"/register/ev_acme/signin/github"); code != http.StatusForbidden || !strings.Contains(page, "acme.test") || !strings.Contains(page, "octo@users.test") {
		t.Errorf("wrong domain: %d %s; want 403 naming the domain and the email", code, page)
	}
	g.github.SetUser(githubtest.User{ID: 10, Login: "ace", Email: "ace@acme.test", Verified: true})
	if code, page := g.get(g.browser(), g.server.URL+"/register/ev_acme/signin/github"); code != http.StatusOK || keyOnPage.FindString(page) == "" {
		t.Errorf("right domain: %d %s; want a key", code, page)
	}
	for _, path := range []string{"/register/ev_code_only", "/register/ev_code_only/signin/github", "/register/ev_nope", "/register/ev_open/signin/corp"} {
		if code, page := g.get(g.client, g.server.URL+path); code != http.StatusNotFound || keyOnPage.FindString(page) != "" {
			t.Errorf("GET %s: %d; want 404 and no key", path, code)
		}
	}
	// An attendee's sign-in is no admin session.
	if _, page := g.get(g.client, g.server.URL+"/admin/"); page != "signed out" {
		t.Errorf("after registering, the portal says %q, want signed out", page)
	}
	regs, _, _ := g.store.QueryAudit(t.Context(), store.AuditQuery{Resource: "attendees"})
	var got []string
	for _, e := range regs {
		got = append(got, e.Action+" "+e.Actor)
	}
	if want := "register github:ace|register_failed github:octo|register github:octo"; strings.Join(got, "|") != want {
		t.Errorf("audit = %q, want %q", strings.Join(got, "|"), want)
	}
}
