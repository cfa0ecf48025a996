package identity

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// TestSecureCookies: cookies are Secure everywhere but plain HTTP to a
// loopback address, where a browser would drop a Secure cookie.
func TestSecureCookies(t *testing.T) {
	tests := []struct {
		host  string
		tls   bool
		proto string
		want  bool
	}{
		{"127.0.0.1:4000", false, "", false},
		{"localhost:4000", false, "", false},
		{"[::1]:4000", false, "", false},
		{"127.0.0.1:4000", true, "", true},
		{"llm.example.com", false, "", true},
		{"10.0.0.5:4000", false, "", true},
		{"llm.example.com", false, "https", true},
		{"localhost", false, "https", true},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/admin/", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if got := secure(r); got != tc.want {
			t.Errorf("secure(host %s, tls %v, proto %q) = %v, want %v", tc.host, tc.tls, tc.proto, got, tc.want)
		}
	}
}
