package identity_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/testutil/oidctest"
)

// FuzzCallback: whatever a callback carries (state, code, error, a flow
// cookie of any shape), it never starts a session without a real flow,
// and it answers with a page, never a panic.
func FuzzCallback(f *testing.F) {
	f.Add("state", "code", "", "eyJwIjoiY29ycCJ9.sig")
	f.Add("", "", "access_denied", "")
	f.Add("x", "y", "", "..")
	f.Add("s", "c", "", strings.Repeat("A", 5000))
	g := newGateway(f)
	g.idp.SetUser(oidctest.User{Subject: "u", Email: "boss@example.com", EmailVerified: true})
	f.Fuzz(func(t *testing.T, state, code, errParam, cookie string) {
		q := url.Values{"state": {state}, "code": {code}}
		if errParam != "" {
			q.Set("error", errParam)
		}
		r := httptest.NewRequest(http.MethodGet, "/admin/callback/corp?"+q.Encode(), nil)
		if cookie != "" && !strings.ContainsAny(cookie, "\x00\r\n;\" ,") {
			r.Header.Set("Cookie", "spillway_signin="+cookie)
		}
		w := httptest.NewRecorder()
		g.svc.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			if c.Name == "spillway_session" && c.Value != "" {
				t.Fatalf("a forged callback (state %q, code %q, cookie %q) started a session", state, code, cookie)
			}
		}
		if w.Code < 400 {
			t.Fatalf("a forged callback answered %d, want a refusal", w.Code)
		}
	})
}
