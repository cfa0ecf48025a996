package auth

import (
	"net"
	"net/http"
)

// PeerHost is the address r's connection came from, without its port: the
// address audit entries and sign-in records name. It is the peer of the
// connection, never a header a client can set (behind a proxy, the
// proxy's).
func PeerHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
