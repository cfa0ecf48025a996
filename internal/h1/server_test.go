package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is an upstream that answers each request on a connection
// with whatever its handler writes, byte for byte, so tests can send what
// net/http's server never would.
type rawServer struct {
	ln      net.Listener
	accepts atomic.Int64
	// handle serves one request of a connection's n-th (from 0); it
	// reports false to close the connection.
	handle func(n int, req *http.Request, c net.Conn) bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newRawServer(t *testing.T, handle func(n int, req *http.Request, c net.Conn) bool) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, handle: handle}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepts.Add(1)
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			for n := 0; ; n++ {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, req.Body); err != nil {
					return
				}
				if !s.handle(n, req, c) {
					return
				}
			}
		}()
	}
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// reply writes a fixed response.
func reply(raw string) func(int, *http.Request, net.Conn) bool {
	return func(_ int, _ *http.Request, c net.Conn) bool {
		_, err := io.WriteString(c, raw)
		return err == nil
	}
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"

// newTransport is a Transport dialling with a plain net.Dialer.
func newTransport() *Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &Transport{Dial: d.DialContext, MaxIdlePerHost: 4}
}

// post is an in-memory POST, replayable as the gateway's are when
// idempotent is set.
func post(ctx context.Context, t *testing.T, url, body string, idempotent bool) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if idempotent {
		r.Header["X-Idempotency-Key"] = nil
	}
	return r
}

// idle counts the transport's idle connections.
func (t *Transport) idleCount() int {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	return t.pool.n
}

// wantIdle checks that tr keeps n idle connections.
func wantIdle(t *testing.T, tr *Transport, n int) {
	t.Helper()
	if got := tr.idleCount(); got != n {
		t.Errorf("%d idle connections, want %d", got, n)
	}
}

// do sends r and reads its answer whole.
func do(tr http.RoundTripper, r *http.Request) (*http.Response, string, error) {
	resp, err := tr.RoundTrip(r)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// mustDo is do, failing the test on an error.
func mustDo(t *testing.T, tr http.RoundTripper, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, body, err := do(tr, r)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
