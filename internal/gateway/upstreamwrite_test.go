package gateway

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestUpstreamRequestIsOneWrite: a request whose headers and body fit in
// the upstream connection's write buffer goes out in one write, a longer
// one in two, the body written past the buffer. net/http
// flushes the headers on their own before a body it does not know is in
// memory, which cost a syscall and a packet per request.
func TestUpstreamRequestIsOneWrite(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: okChat("a")})
	var writes atomic.Int64
	tr := h.gw.transport.(*Transport)
	counted := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, writes: &writes}, nil
		}
	}
	tr.std.DialContext = counted(tr.std.DialContext)
	tr.h1.Dial = counted(tr.h1.Dial)
	// The request's headers are about 300 bytes here; a request past the
	// write buffer (upstreamWriteBuffer) takes two writes.
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"short", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 1},
		{"a fifth of a kilobyte", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 150) + `"}]}`, 1},
		{"past the write buffer", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 4000) + `"}]}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := writes.Load()
			resp := h.post("/v1/chat/completions", tt.body)
			readAll(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got, want := writes.Load()-before, tt.want; got != want {
				t.Errorf("the upstream request took %d writes, want %d", got, want)
			}
		})
	}
}
