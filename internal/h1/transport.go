// Package h1 is an HTTP/1.1 client transport that makes each exchange on
// its caller's goroutine.
//
// net/http's Transport keeps two goroutines for every connection, one
// writing requests and one reading responses, and hands each request and
// response between them and the caller over channels. For a gateway in
// front of an upstream on plain HTTP that hand-off is most of what the
// transport costs: three goroutines woken for every request, where the
// exchange itself is one write and one read. Here the caller writes the
// request, waits for the response's headers and reads its body itself,
// and a connection idle in the pool has no goroutine at all.
//
// The wire format is net/http's own: requests are written as
// (*http.Request).Write writes them (writeRequest: the same bytes, without
// its fmt calls and pooled sorter), refused as net/http's Transport
// refuses them (check), and responses read by http.ReadResponse. What this
// package adds is the connection pool, the first-byte timeout, the
// request's context (cancelling it closes the connection), and the one
// retry net/http makes too: a replayable request that failed on a reused
// connection before any byte of its response arrived goes again on
// another, since the upstream closed that connection while it was idle.
//
// It serves only what it can do as well as net/http: plain http:// URLs,
// no protocol upgrade, and request bodies held in memory (GetBody set) of
// at most MaxBody bytes (Handles). Everything else (TLS and HTTP/2,
// WebSocket, streamed uploads) belongs to net/http's Transport: an upload
// streamed here would be written whole before the response is read, and
// an upstream that answers early (a 413) and stops reading would make
// that write fail instead of delivering its answer.
package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// MaxBody is the largest request body Handles accepts: past it, a request
// goes to net/http's Transport, whose writer and reader run side by side.
const MaxBody = 256 << 10

// Transport is an http.RoundTripper for HTTP/1.1 over plain TCP. Its zero
// value is not usable: set Dial. It is safe for concurrent use.
type Transport struct {
	// Dial opens a connection to addr ("host:port"); it should bound the
	// time it takes.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// FirstByteTimeout bounds the wait for the response's headers once
	// the request is written; 0 means no limit.
	FirstByteTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per host
	// (default 2, as net/http's).
	MaxIdlePerHost int
	// IdleTimeout is how long an idle connection is kept at most (default
	// 90s); it is closed after between half of it and all of it.
	IdleTimeout time.Duration
	// ReadBufferSize and WriteBufferSize are each connection's buffers
	// (default 4 KiB), kept for its life.
	ReadBufferSize, WriteBufferSize int

	pool pool
}

// Handles reports whether r is one this transport serves: an http:// URL,
// no Upgrade, and no body or one in memory of at most MaxBody bytes.
func (t *Transport) Handles(r *http.Request) bool {
	if r.URL == nil || r.URL.Scheme != "http" || r.URL.Host == "" {
		return false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	return r.GetBody != nil && r.ContentLength >= 0 && r.ContentLength <= MaxBody
}

// errNotHandled is RoundTrip's answer to a request Handles refuses.
var errNotHandled = errors.New("h1: only http:// requests without upgrade and with an in-memory body of at most 256 KiB")

// RoundTrip sends r and returns its response once the headers are read.
// The body is read from the connection as the caller reads it; reading it
// to its end gives the connection back to the pool, closing it early
// closes the connection.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.Handles(r) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errNotHandled
	}
	if err := check(r); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	ctx := r.Context()
	addr := hostPort(r.URL.Host)
	again := replayable(r)
	for {
		c, err := t.conn(ctx, addr, again)
		if err != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, err
		}
		resp, err := c.roundTrip(ctx, r)
		if err == nil {
			return resp, nil
		}
		if !c.replay || !again || ctx.Err() != nil {
			return nil, err
		}
		if r, err = rewound(r); err != nil {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the connections idle in the pool.
func (t *Transport) CloseIdleConnections() { t.pool.closeAll() }

// replayable is net/http's rule for sending a request again: its body can
// be had again, and it is idempotent or says it may be repeated.
func replayable(r *http.Request) bool {
	if r.Body != nil && r.Body != http.NoBody && r.GetBody == nil {
		return false
	}
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := r.Header["Idempotency-Key"]
	if !ok {
		_, ok = r.Header["X-Idempotency-Key"]
	}
	return ok
}

// rewound is r with its body to send again.
func rewound(r *http.Request) (*http.Request, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	body, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	again := *r
	again.Body = body
	return &again, nil
}

// hostPort is host with the port http:// implies when it names none.
func hostPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		return host
	}
	return host + ":80"
}

// conn returns an idle connection to addr that is still sound, or dials
// one.
//
// A connection the upstream closed or timed out (a 408 before closing)
// while it was idle fails its next request before any answer, and a
// replayable request then goes again on another (RoundTrip): under load
// connections are idle for microseconds, and that is rare. So the
// connection is peeked at (liveness) only for a request that may not go
// again, or when it has been idle since before the last sweep.
func (t *Transport) conn(ctx context.Context, addr string, replayable bool) (*conn, error) {
	for c, swept := t.pool.take(addr); c != nil; c, swept = t.pool.take(addr) {
		// Bytes left past an answer kept it out of the pool (done); any
		// that came while it was idle are in the socket, for the peek.
		if replayable && !swept || c.live.check() {
			return c, nil
		}
		c.close()
	}
	nc, err := t.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newConn(t, addr, nc), nil
}

// timeoutError is the first-byte timeout, in the words net/http uses for
// it (the router's classifier knows them).
type timeoutError struct{}

func (timeoutError) Error() string   { return "h1: timeout awaiting response headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// errBodyClosed is a read of a body after its Close.
var errBodyClosed = errors.New("h1: read on closed response body")

var _ io.ReadCloser = (*body)(nil)
