package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeIdentity is a sign-in service with one signed-in browser: the one
// whose cookie "id" is "ann".
type fakeIdentity struct {
	signedOut    bool
	tokenSignIns int
}

func (f *fakeIdentity) SignInWithToken(w http.ResponseWriter, _ *http.Request) error {
	f.tokenSignIns++
	http.SetCookie(w, &http.Cookie{Name: "id", Value: "owner", Path: "/admin", HttpOnly: true})
	return nil
}

func (f *fakeIdentity) Links() []SignInLink {
	return []SignInLink{{Name: "Corp SSO", URL: "/admin/signin/corp"}, {Name: "GitHub", URL: "/admin/signin/github"}}
}

func (f *fakeIdentity) CSRF(r *http.Request) (string, bool) {
	c, err := r.Cookie("id")
	if err != nil || c.Value != "ann" || f.signedOut {
		return "", false
	}
	return "csrf-ann", true
}

func (f *fakeIdentity) SignOut(_ http.ResponseWriter, _ *http.Request, csrf string) bool {
	if csrf != "csrf-ann" {
		return false
	}
	f.signedOut = true
	return true
}

// TestIdentityPortal: the sign-in page offers each provider (drawn by
// login.js from GET /admin/providers); a session
// from one opens the portal with its CSRF token; signing out needs it;
// token sign-ins, right and wrong, are reported for the audit log, and a
// right one starts a stored session.
func TestIdentityPortal(t *testing.T) {
	id := &fakeIdentity{}
	var audited []string
	h := New(Options{
		Token:       func(p string) bool { return p == testToken },
		SessionKey:  func() []byte { return []byte("0123456789abcdef0123456789abcdef") },
		Now:         func() time.Time { return time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) },
		Identity:    id,
		SignInAudit: func(_ *http.Request, action string, status int) { audited = append(audited, action) },
	})
	page := serve(h, httptest.NewRequest(http.MethodGet, "/admin/", nil)).Body.String()
	for _, want := range []string{`id="signin-providers"`, `/static/login.`, `id="token"`} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if got, want := serve(h, httptest.NewRequest(http.MethodGet, "/admin/providers", nil)).Body.String(), `{"data":[{"name":"Corp SSO","url":"/admin/signin/corp"},{"name":"GitHub","url":"/admin/signin/github"}]}`; got != want {
		t.Errorf("GET /admin/providers = %s, want %s", got, want)
	}
	r := httptest.NewRequest(http.MethodGet, "/admin/", nil)
	r.AddCookie(&http.Cookie{Name: "id", Value: "ann"})
	if page := serve(h, r).Body.String(); !strings.Contains(page, `content="csrf-ann"`) || !strings.Contains(page, `id="tab-events"`) {
		t.Errorf("portal for a signed-in identity lacks its CSRF token or tabs")
	}
	logout := func(csrf string) int {
		r := httptest.NewRequest(http.MethodPost, "/admin/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(&http.Cookie{Name: "id", Value: "ann"})
		return serve(h, r).Code
	}
	if got := logout("wrong"); got != http.StatusForbidden || id.signedOut {
		t.Errorf("logout with a wrong CSRF token: %d, signed out %v; want 403 and still signed in", got, id.signedOut)
	}
	if got := logout("csrf-ann"); got != http.StatusSeeOther || !id.signedOut {
		t.Errorf("logout: %d, signed out %v; want 303 and signed out", got, id.signedOut)
	}
	for _, tok := range []string{"wrong", testToken} {
		r := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		serve(h, r)
	}
	if got, want := strings.Join(audited, ","), "signin_failed,signin"; got != want {
		t.Errorf("audited %q, want %q", got, want)
	}
	if id.tokenSignIns != 1 {
		t.Errorf("token sign-ins through the stored sessions = %d, want 1 (the right token only)", id.tokenSignIns)
	}
}
