package auth

import (
	"net/http"
	"testing"
)

func TestPeerHost(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:5555", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"pipe", "pipe"}, // no port: kept whole
		{"", ""},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
		if got := PeerHost(r); got != tt.want {
			t.Errorf("PeerHost(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
