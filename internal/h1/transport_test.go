package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBodies reads answers framed every way HTTP/1.1 frames them, and
// checks which leave their connection to the next request.
func TestBodies(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		response string
		wantBody string
		wantKept bool
	}{
		{"content length", "POST", okResponse, `{"ok":true}`, true},
		{"chunked", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", true},
		{"chunked with trailer", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n", "hi", true},
		{"empty 200", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "", true},
		{"204", "POST", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
		{"HEAD with a length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", "", true},
		{"interim 100 and 103 first", "POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okResponse, `{"ok":true}`, true},
		{"connection close", "POST", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "ok", false},
		{"HTTP/1.0", "POST", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", false},
		{"bytes past the answer", "POST", okResponse + "HTTP/1.1 200 OK\r\n", `{"ok":true}`, false},
		{"408 on a fresh connection is an answer", "POST", "HTTP/1.1 408 Request Timeout\r\nContent-Length: 4\r\n\r\nslow", "slow", true},
		{"error status", "POST", "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nslow", "slow", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawServer(t, reply(tt.response))
			tr := newTransport()
			defer tr.CloseIdleConnections()
			r := post(context.Background(), t, srv.url(), `{"model":"m"}`, false)
			r.Method = tt.method
			resp, err := tr.RoundTrip(r)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			resp.Body.Close()
			if got := string(b); got != tt.wantBody {
				t.Errorf("body %q, want %q", got, tt.wantBody)
			}
			if got := tr.idleCount() == 1; got != tt.wantKept {
				t.Errorf("connection kept: %v, want %v", got, tt.wantKept)
			}
		})
	}
}

// TestClosedDelimitedBody reads an answer that ends when the upstream
// closes: the connection is not kept.
func TestClosedDelimitedBody(t *testing.T) {
	srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil the end")
		return false
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	if _, b := mustDo(t, tr, post(context.Background(), t, srv.url(), "{}", false)); b != "until the end" {
		t.Fatalf("body %q, want %q", b, "until the end")
	}
	wantIdle(t, tr, 0)
}

// TestReuse sends requests one after another on one connection, and
// opens another only when the upstream closed it.
func TestReuse(t *testing.T) {
	srv := newRawServer(t, reply(okResponse))
	tr := newTransport()
	defer tr.CloseIdleConnections()
	for i := range 5 {
		if _, _, err := do(tr, post(context.Background(), t, srv.url(), "{}", false)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got, want := srv.accepts.Load(), int64(1); got != want {
		t.Errorf("%d connections for 5 requests in turn, want %d", got, want)
	}
}

// TestRequestOnTheWire: what the upstream receives is what net/http's
// client would send.
func TestRequestOnTheWire(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := newRawServer(t, func(_ int, r *http.Request, c net.Conn) bool {
		got <- r
		io.WriteString(c, okResponse)
		return true
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	r := post(context.Background(), t, srv.url(), `{"model":"m"}`, true)
	r.URL.RawQuery = "api-version=2024-10-21"
	r.Header.Set("Api-Key", "k")
	mustDo(t, tr, r)
	up := <-got
	u, _ := url.Parse(srv.url())
	for _, c := range []struct{ name, got, want string }{
		{"method", up.Method, "POST"},
		{"path and query", up.URL.RequestURI(), "/v1/chat/completions?api-version=2024-10-21"},
		{"host", up.Host, u.Host},
		{"content type", up.Header.Get("Content-Type"), "application/json"},
		{"api key", up.Header.Get("Api-Key"), "k"},
		{"user agent", up.Header.Get("User-Agent"), "Go-http-client/1.1"},
		{"protocol", up.Proto, "HTTP/1.1"},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.name, c.got, c.want)
		}
	}
	if up.ContentLength != int64(len(`{"model":"m"}`)) {
		t.Errorf("Content-Length %d, want %d", up.ContentLength, len(`{"model":"m"}`))
	}
	if _, ok := up.Header["X-Idempotency-Key"]; ok {
		t.Errorf("X-Idempotency-Key sent; a nil one only marks the request as replayable")
	}
}

// TestReplayOnClosedIdleConnection: the upstream closes a kept-alive
// connection while it is idle. A replayable request sent on it goes again
// on a new connection; one that is not replayable fails, as with
// net/http, since the upstream may have acted on it.
func TestReplayOnClosedIdleConnection(t *testing.T) {
	for _, tt := range []struct {
		name       string
		idempotent bool
		wantErr    bool
	}{
		{"replayable", true, false},
		{"not replayable", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Every connection answers its first request, then closes
			// without a word after reading the second.
			srv := newRawServer(t, func(n int, _ *http.Request, c net.Conn) bool {
				if n > 0 {
					return false
				}
				io.WriteString(c, okResponse)
				return true
			})
			tr := newTransport()
			defer tr.CloseIdleConnections()
			mustDo(t, tr, post(context.Background(), t, srv.url(), "{}", tt.idempotent))
			_, _, err := do(tr, post(context.Background(), t, srv.url(), `{"again":1}`, tt.idempotent))
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("second request: error %v, want an error: %v", err, tt.wantErr)
			}
			if err == nil {
				if got, want := srv.accepts.Load(), int64(2); got != want {
					t.Errorf("%d connections, want %d", got, want)
				}
			}
		})
	}
}

// TestNoReplayOnFreshConnection: a request that fails on a connection
// dialled for it is not sent again.
func TestNoReplayOnFreshConnection(t *testing.T) {
	srv := newRawServer(t, func(int, *http.Request, net.Conn) bool { return false })
	tr := newTransport()
	defer tr.CloseIdleConnections()
	_, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
	if err == nil {
		t.Fatal("RoundTrip succeeded against an upstream that closes, want an error")
	}
	if got, want := srv.accepts.Load(), int64(1); got != want {
		t.Errorf("%d connections, want %d", got, want)
	}
}

// TestFirstByteTimeout: an upstream that reads the request and never
// answers fails it with net/http's words for it, as a timeout, and the
// connection is not kept.
func TestFirstByteTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(int, *http.Request, net.Conn) bool {
		<-release
		return false
	})
	tr := newTransport()
	tr.FirstByteTimeout = 20 * time.Millisecond
	defer tr.CloseIdleConnections()
	_, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
	if err == nil {
		t.Fatal("RoundTrip succeeded, want the first-byte timeout")
	}
	if !strings.Contains(err.Error(), "awaiting response headers") {
		t.Errorf("error %q, want it to say it timed out awaiting response headers", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a net.Error timeout", err)
	}
	wantIdle(t, tr, 0)
}

// TestFirstByteDeadlineCleared: a body slower than the first-byte
// timeout is still read whole: the deadline bounds the headers only.
func TestFirstByteDeadlineCleared(t *testing.T) {
	next := make(chan struct{})
	srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
		<-next
		io.WriteString(c, "cd")
		return true
	})
	tr := newTransport()
	tr.FirstByteTimeout = 20 * time.Millisecond
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, buf[:2]); err != nil {
		t.Fatal(err)
	}
	// Past the timeout, by the connection's own deadline timer: the
	// read below would fail if the deadline were still set.
	time.Sleep(2 * tr.FirstByteTimeout)
	close(next)
	if _, err := io.ReadFull(resp.Body, buf[2:]); err != nil {
		t.Fatalf("reading the body past the first-byte timeout: %v", err)
	}
	if got, want := string(buf), "abcd"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
}

// TestCancel: a request whose context ends while it waits for headers or
// while its body is read fails at once with the context's error, and
// its connection is closed, never kept.
func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  bool // the upstream sends headers and a first chunk
		until time.Duration
		want  error
	}{
		{"cancelled awaiting headers", false, 0, context.Canceled},
		{"cancelled mid-body", true, 0, context.Canceled},
		{"deadline awaiting headers", false, 20 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
				if tc.body {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n")
				}
				<-release
				return false
			})
			defer close(release)
			tr := newTransport()
			defer tr.CloseIdleConnections()
			ctx, cancel := context.WithCancel(context.Background())
			if tc.until > 0 {
				ctx, cancel = context.WithTimeout(context.Background(), tc.until)
			}
			defer cancel()
			done := make(chan error, 1)
			go func() {
				resp, err := tr.RoundTrip(post(ctx, t, srv.url(), "{}", true))
				if err == nil {
					defer resp.Body.Close()
					_, err = io.ReadAll(resp.Body)
				}
				done <- err
			}()
			waitAccepted(t, srv)
			if tc.until == 0 {
				cancel()
			}
			err := <-done
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			wantIdle(t, tr, 0)
		})
	}
}

// waitAccepted waits until srv has a connection.
func waitAccepted(t *testing.T, srv *rawServer) {
	t.Helper()
	for range 1000 {
		if srv.accepts.Load() > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the upstream never got a connection")
}

// TestCloseUnblocksRead: closing the body from another goroutine, as the
// gateway's idle timer and shutdown do, ends a read blocked on a silent
// upstream, and a later read says the body is closed.
func TestCloseUnblocksRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		<-release
		return false
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 64))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read block; it ends either way
	resp.Body.Close()
	if err := <-done; err == nil {
		t.Error("the blocked read returned no error after Close")
	}
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
		t.Errorf("read after Close: %v, want %v", err, errBodyClosed)
	}
	wantIdle(t, tr, 0)
}

// TestEarlyCloseDoesNotDrain: closing a body before its end closes the
// connection instead of reading the rest (net/http's body would drain it,
// for minutes on a stream).
func TestEarlyCloseDoesNotDrain(t *testing.T) {
	srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\nfirst")
		io.Copy(c, strings.NewReader(strings.Repeat("x", 1<<20)))
		return false
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wantIdle(t, tr, 0)
}

// TestMaxIdlePerHost keeps at most MaxIdlePerHost connections of a host.
func TestMaxIdlePerHost(t *testing.T) {
	hold := make(chan struct{})
	srv := newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		<-hold
		_, err := io.WriteString(c, okResponse)
		return err == nil
	})
	tr := newTransport()
	tr.MaxIdlePerHost = 2
	defer tr.CloseIdleConnections()
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			resp, err := tr.RoundTrip(post(context.Background(), t, srv.url(), "{}", true))
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for srv.accepts.Load() < n {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantIdle(t, tr, 2)
}

// TestSweep closes a connection idle through two sweeps, and keeps one
// that went idle after the first.
func TestSweep(t *testing.T) {
	srv := newRawServer(t, reply(okResponse))
	tr := newTransport()
	tr.IdleTimeout = time.Hour // the test sweeps; the timer never fires
	defer tr.CloseIdleConnections()
	get := func() {
		t.Helper()
		mustDo(t, tr, post(context.Background(), t, srv.url(), "{}", true))
	}
	get()
	tr.sweep()
	if got := tr.idleCount(); got != 1 {
		t.Fatalf("after one sweep: %d idle, want 1", got)
	}
	tr.sweep()
	if got := tr.idleCount(); got != 0 {
		t.Fatalf("after two sweeps: %d idle, want 0", got)
	}
	get() // dials again, idle from this generation
	tr.sweep()
	if got := tr.idleCount(); got != 1 {
		t.Errorf("a connection idle through one sweep: %d idle, want 1", got)
	}
	if got, want := srv.accepts.Load(), int64(2); got != want {
		t.Errorf("%d connections, want %d", got, want)
	}
}

// TestHandles takes only what it serves as well as net/http.
func TestHandles(t *testing.T) {
	tr := newTransport()
	inMemory := func(n int) *http.Request {
		r, _ := http.NewRequest("POST", "http://up/v1", strings.NewReader(strings.Repeat("x", n)))
		return r
	}
	streamed := inMemory(10)
	streamed.Body, streamed.GetBody = io.NopCloser(strings.NewReader("0123456789")), nil
	upgrade, _ := http.NewRequest("GET", "http://up/v1/realtime", nil)
	upgrade.Header.Set("Upgrade", "websocket")
	tlsReq, _ := http.NewRequest("GET", "https://up/v1/models", nil)
	get, _ := http.NewRequest("GET", "http://up/v1/models", nil)
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"GET", get, true},
		{"small body in memory", inMemory(100), true},
		{"body of MaxBody", inMemory(MaxBody), true},
		{"body past MaxBody", inMemory(MaxBody + 1), false},
		{"streamed body", streamed, false},
		{"upgrade", upgrade, false},
		{"https", tlsReq, false},
	}
	for _, tt := range tests {
		if got := tr.Handles(tt.r); got != tt.want {
			t.Errorf("%s: Handles %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := tr.RoundTrip(tlsReq); !errors.Is(err, errNotHandled) {
		t.Errorf("RoundTrip of an https request: %v, want %v", err, errNotHandled)
	}
}

// TestDialError reaches the caller as it is.
func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := newTransport()
	_, err = tr.RoundTrip(post(context.Background(), t, "http://"+addr, "{}", true))
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("error %v, want the dial's *net.OpError", err)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"up":            "up:80",
		"up:8080":       "up:8080",
		"127.0.0.1":     "127.0.0.1:80",
		"[::1]":         "[::1]:80",
		"[::1]:9100":    "[::1]:9100",
		"10.0.0.1:9100": "10.0.0.1:9100",
	} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBroke: only the connection's end makes a failed request safe to
// send again.
func TestBroke(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{timeoutError{}, false},
		{errHeadersTooLarge, false},
		{errors.New("http: ContentLength=3 with Body length 0"), false},
		{bodyReadError{io.ErrUnexpectedEOF}, false},
		{context.Canceled, false},
	} {
		if got := broke(tc.err); got != tc.want {
			t.Errorf("broke(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
