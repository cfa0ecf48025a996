package mock

import (
	"crypto/tls"
	"io"
	stdmaps "maps"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProtocols counts connections at their first request, by version,
// and leaves its own answers out.
func TestProtocols(t *testing.T) {
	p := CountProtocols(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv := httptest.NewUnstartedServer(p)
	srv.Config.ConnContext = p.ConnContext
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	h2 := srv.Client()
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: h2.Transport.(*http.Transport).TLSClientConfig.Clone()}}
	for _, c := range []*http.Client{h2, h2, h1, h1, h1} {
		resp, err := c.Get(srv.URL + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A connection dialled and dropped before any request, as an HTTP/2
	// client does with the extra dials of a burst: accepted, not used.
	tc, err := tls.Dial("tcp", srv.Listener.Addr().String(), h2.Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	tc.Close()
	before := p.Counts()
	resp, err := h1.Get(srv.URL + ProtocolsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tests := []struct {
		name      string
		got, want map[string]int64
	}{
		{"connections", p.Counts().Connections, map[string]int64{"HTTP/1.1": 1, "HTTP/2.0": 1}},
		{"requests", p.Counts().Requests, map[string]int64{"HTTP/1.1": 3, "HTTP/2.0": 2}},
		{"requests since", p.Counts().Sub(before).Requests, map[string]int64{}},
	}
	for _, tt := range tests {
		if !stdmaps.Equal(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got, want := p.Counts().Accepted, int64(3); got != want {
		t.Errorf("accepted: got %d, want %d (two used, one dropped)", got, want)
	}
	// Asking on a connection of its own is not counted either.
	resp, err = (&http.Client{Transport: &http.Transport{TLSClientConfig: h1.Transport.(*http.Transport).TLSClientConfig}}).Get(srv.URL + ProtocolsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := p.Counts().Accepted, int64(3); got != want {
		t.Errorf("accepted after a new connection asked: got %d, want %d", got, want)
	}
}

func TestProtocolCountsSub(t *testing.T) {
	then := ProtocolCounts{Connections: map[string]int64{"HTTP/1.1": 2}, Requests: map[string]int64{"HTTP/1.1": 5}, Accepted: 2}
	now := ProtocolCounts{Connections: map[string]int64{"HTTP/1.1": 2, "HTTP/2.0": 1}, Requests: map[string]int64{"HTTP/1.1": 7, "HTTP/2.0": 4}, Accepted: 9}
	d := now.Sub(then)
	if got, want := d.Accepted, int64(7); got != want {
		t.Errorf("accepted: got %d, want %d", got, want)
	}
	if want := map[string]int64{"HTTP/2.0": 1}; !stdmaps.Equal(d.Connections, want) {
		t.Errorf("connections: got %v, want %v", d.Connections, want)
	}
	if want := map[string]int64{"HTTP/1.1": 2, "HTTP/2.0": 4}; !stdmaps.Equal(d.Requests, want) {
		t.Errorf("requests: got %v, want %v", d.Requests, want)
	}
}
