package admin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spillwayhq/spillway/internal/admin"
)

// TestSessionHook: a request with no Authorization header is let in when
// Options.Session vouches for it; a bearer token, when sent, decides alone.
func TestSessionHook(t *testing.T) {
	for _, tc := range []struct {
		name    string
		session bool
		header  string
		want    int
	}{
		{"session, no header", true, "", http.StatusOK},
		{"no session, no header", false, "", http.StatusUnauthorized},
		{"session, wrong token", true, "Bearer wrong", http.StatusUnauthorized},
		{"session, other scheme", true, "Basic x", http.StatusUnauthorized},
		{"no session, right token", false, "Bearer " + adminToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := admin.New(admin.Options{
				Token:   func(p string) bool { return p == adminToken },
				Session: func(*http.Request) bool { return tc.session },
			})
			r := httptest.NewRequest(http.MethodGet, "/admin/v1/routing", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Code; got != tc.want {
				t.Errorf("status = %d, want %d; body %s", got, tc.want, w.Body)
			}
		})
	}
}
