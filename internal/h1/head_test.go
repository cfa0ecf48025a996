package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
)

// TestWriteRequest holds writeRequest to the bytes (*http.Request).Write
// writes, request by request: those it writes itself (own) and those it
// leaves to Request.Write.
func TestWriteRequest(t *testing.T) {
	long := strings.Repeat("x", 700) // past the write buffer
	tests := []struct {
		name    string
		mk      func() *http.Request
		wantOwn bool
		wantErr bool
	}{
		{"the gateway's chat", chatRequest, true, false},
		{"GET without a body", req("GET", "http://up/v1/models", nil), true, false},
		{"empty method is GET", req("", "http://up/v1/models", nil), true, false},
		{"POST without a body has Content-Length 0", req("POST", "http://up/x", nil), true, false},
		{"PUT with NoBody has Content-Length 0", with(req("PUT", "http://up/x", nil), func(r *http.Request) { r.Body, r.ContentLength = http.NoBody, 5 }), true, false},
		{"PATCH with NoBody", with(req("PATCH", "http://up/x", nil), func(r *http.Request) { r.Body = http.NoBody }), true, false},
		{"DELETE without a body has none", req("DELETE", "http://up/x", nil), true, false},
		{"lower-case post has none", req("post", "http://up/x", nil), true, false},
		{"GET with a body", req("GET", "http://up/x", []byte("{}")), true, false},
		{"empty User-Agent is omitted", hdr("User-Agent", ""), true, false},
		{"nil User-Agent is omitted", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Header["User-Agent"] = nil }), true, false},
		{"first User-Agent only, trimmed", hdr("User-Agent", " a/1 \t", "b/2"), true, false},
		{"User-Agent with CR LF", hdr("User-Agent", "a\r\nX-Evil: 1"), true, false},
		{"value with CR LF stays on its line", hdr("X-A", "a\r\nX-Evil: 1\n"), true, false},
		{"values trimmed, several", hdr("X-A", "  one", "two\t", ""), true, false},
		{"fields written elsewhere skipped", with(req("POST", "http://up/x", []byte("abc")), func(r *http.Request) {
			for _, k := range []string{"Host", "Content-Length", "Transfer-Encoding", "Trailer"} {
				r.Header[k] = []string{"evil"}
			}
		}), true, false},
		{"non-canonical user-agent is a field", hdr("user-agent", "x"), true, false},
		{"invalid names dropped", with(hdr("X-A", "1"), func(r *http.Request) { r.Header["Bad Name"] = []string{"v"}; r.Header[""] = []string{"v"} }), true, false},
		{"more fields than the stack holds", with(req("GET", "http://up/", nil), func(r *http.Request) {
			for _, k := range strings.Fields("Z Y X W V U T S R Q P O N M L K J I H G F E D C B A") {
				r.Header["X-"+k] = []string{k}
			}
		}), true, false},
		{"head past the write buffer", hdr("X-Long", long), true, false},
		{"body past the write buffer", req("POST", "http://up/x", []byte(long+long)), true, false},
		{"path escaped", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Path: "/a b/ü"}), true, false},
		{"raw path kept", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Path: "/a/b", RawPath: "/a%2Fb"}), true, false},
		{"empty path is /", reqURL("GET", &url.URL{Scheme: "http", Host: "up", RawQuery: "q=1"}), true, false},
		{"asterisk", reqURL("OPTIONS", &url.URL{Scheme: "http", Host: "up", Path: "*"}), true, false},
		{"force query", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Path: "/x", ForceQuery: true}), true, false},
		{"opaque", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Opaque: "/raw%2Fpath"}), true, false},
		{"opaque of two slashes takes the scheme", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Opaque: "//other/x", RawQuery: "a"}), true, false},
		{"control character in the query", reqURL("GET", &url.URL{Scheme: "http", Host: "up", Path: "/", RawQuery: "a\r\nb"}), true, true},
		{"control character in opaque", reqURL("POST", &url.URL{Scheme: "http", Host: "up", Opaque: "/a\x7f"}), true, true},
		{"control character in the scheme", reqURL("GET", &url.URL{Scheme: "ht\ntp", Host: "up", Opaque: "//x"}), true, true},
		{"r.Host first", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Host = "front:81" }), true, false},
		{"IPv6 zone removed", req("GET", "http://[fe80::1%25en0]:8080/", nil), true, false},
		{"invalid Host sent empty", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Host = "up/x y" }), true, false},
		{"Host with CR LF sent empty", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Host = "up\r\nX-Evil: 1" }), true, false},
		{"body longer than its length", with(req("POST", "http://up/x", []byte("abcdef")), func(r *http.Request) { r.ContentLength = 3 }), true, true},
		{"body shorter than its length", with(req("POST", "http://up/x", []byte("ab")), func(r *http.Request) { r.ContentLength = 3 }), true, true},
		{"body that fails", with(req("POST", "http://up/x", []byte("ab")), func(r *http.Request) {
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader("a"), iotestErr{}))
		}), true, true},

		{"punycode Host", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Host = "bücher.example:80" }), false, false},
		{"Host not UTF-8", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Host = "\xff.example" }), false, false},
		{"CONNECT", with(req("CONNECT", "http://up:443", nil), func(r *http.Request) { r.URL.Path = "" }), false, false},
		{"Close", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Close = true }), false, false},
		{"Transfer-Encoding", with(req("POST", "http://up/", []byte("abc")), func(r *http.Request) { r.TransferEncoding = []string{"chunked"} }), false, false},
		{"Trailer", with(req("POST", "http://up/", []byte("abc")), func(r *http.Request) { r.Trailer = http.Header{"X-T": nil} }), false, false},
		{"unknown length POST is chunked", with(req("POST", "http://up/", []byte("abc")), func(r *http.Request) { r.ContentLength = 0 }), false, false},
		{"unknown length empty GET", with(req("GET", "http://up/", []byte{}), func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("")) }), false, false},
		{"nil body with a length", with(req("POST", "http://up/", nil), func(r *http.Request) { r.ContentLength = 2 }), false, true},
		{"traced", with(req("GET", "http://up/", nil), func(r *http.Request) {
			*r = *r.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{WroteHeaders: func() {}}))
		}), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := own(tt.mk()); got != tt.wantOwn {
				t.Errorf("own: %v, want %v", got, tt.wantOwn)
			}
			got, want, gotErr, wantErr := writeBoth(t, tt.mk)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("error %v, Request.Write's %v", gotErr, wantErr)
			}
			if (gotErr != nil) != tt.wantErr {
				t.Fatalf("error %v, want an error: %v", gotErr, tt.wantErr)
			}
			if gotErr == nil && got != want {
				t.Errorf("wrote\n%q\nRequest.Write wrote\n%q", got, want)
			}
		})
	}
}

// writeBoth writes the request mk makes with writeRequest and with
// Request.Write, each through a small buffer, and checks that each closed
// its body and that writeRequest keeps no body after.
func writeBoth(t *testing.T, mk func() *http.Request) (got, want string, gotErr, wantErr error) {
	t.Helper()
	write := func(f func(*bufio.Writer, *http.Request) error) (string, error) {
		r := mk()
		var closed bool
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = closeTracker{r.Body, &closed}
		}
		var out bytes.Buffer
		bw := bufio.NewWriterSize(plainWriter{&out}, 64)
		err := f(bw, r)
		if err == nil {
			err = bw.Flush()
		}
		if r.Body != nil && r.Body != http.NoBody && !closed {
			t.Errorf("body not closed")
		}
		return out.String(), err
	}
	var src bodyReader
	got, gotErr = write(func(bw *bufio.Writer, r *http.Request) error { return writeRequest(bw, r, &src) })
	if src != (bodyReader{}) {
		t.Errorf("body reader left holding %+v", src)
	}
	want, wantErr = write(func(bw *bufio.Writer, r *http.Request) error { return r.Write(bw) })
	return got, want, gotErr, wantErr
}

// plainWriter hides bytes.Buffer's ReadFrom, as a connection's writer
// has none of its own.
type plainWriter struct{ w io.Writer }

func (w plainWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// closeTracker is a body that says when it is closed.
type closeTracker struct {
	io.ReadCloser
	closed *bool
}

func (c closeTracker) Close() error { *c.closed = true; return c.ReadCloser.Close() }

// iotestErr is a body that fails.
type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("body broke") }

// req makes a request as http.NewRequest does (a body's length known,
// GetBody set).
func req(method, u string, body []byte) func() *http.Request {
	return func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		r, err := http.NewRequest(method, u, rd)
		if err != nil {
			panic(err)
		}
		return r
	}
}

func reqURL(method string, u *url.URL) func() *http.Request {
	return func() *http.Request {
		uc := *u
		return &http.Request{Method: method, URL: &uc, Header: http.Header{}}
	}
}

// hdr is a GET with one field of the given values.
func hdr(name string, values ...string) func() *http.Request {
	return with(req("GET", "http://up/", nil), func(r *http.Request) { r.Header[name] = values })
}

func with(mk func() *http.Request, change func(*http.Request)) func() *http.Request {
	return func() *http.Request {
		r := mk()
		change(r)
		return r
	}
}

// TestCheck holds check to what net/http's Transport refuses before it
// dials, and RoundTrip to refusing them without a connection.
func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		mk      func() *http.Request
		wantErr bool
	}{
		{"the gateway's chat", chatRequest, false},
		{"tab and obs-text in a value", hdr("X-A", "a\tb\x80\xff"), false},
		{"nil value", hdr("X-Idempotency-Key"), false},
		{"empty value", hdr("X-A", ""), false},
		{"extension method", req("PROPFIND", "http://up/", nil), false},
		{"LF in a value", hdr("X-A", "a\nX-Evil: 1"), true},
		{"CR in a value", hdr("X-A", "a\r"), true},
		{"NUL in a value", hdr("X-A", "a\x00"), true},
		{"DEL in a value", hdr("X-A", "a\x7f"), true},
		{"CR in User-Agent", hdr("User-Agent", "a\r"), true},
		{"space in a name", hdr("X A", "v"), true},
		{"colon in a name", hdr("X-A:", "v"), true},
		{"empty name", hdr("", "v"), true},
		{"space in the method", with(req("GET", "http://up/", nil), func(r *http.Request) { r.Method = "GE T" }), true},
		{"invalid trailer name", with(req("POST", "http://up/", []byte("a")), func(r *http.Request) { r.Trailer = http.Header{"X T": nil} }), true},
		{"invalid trailer value", with(req("POST", "http://up/", []byte("a")), func(r *http.Request) { r.Trailer = http.Header{"X-T": {"\n"}} }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transportRefuses(tt.mk()); got != tt.wantErr {
				t.Fatalf("net/http's Transport refuses: %v, want %v", got, tt.wantErr)
			}
			if err := check(tt.mk()); (err != nil) != tt.wantErr {
				t.Errorf("check: %v, want an error: %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				return
			}
			dialled := false
			tr := &Transport{Dial: func(context.Context, string, string) (net.Conn, error) {
				dialled = true
				return nil, errDialled
			}}
			r := tt.mk()
			var closed bool
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = closeTracker{r.Body, &closed}
			}
			if _, err := tr.RoundTrip(r); err == nil || errors.Is(err, errDialled) {
				t.Errorf("RoundTrip: %v, want it refused", err)
			}
			if dialled {
				t.Error("RoundTrip dialled for a request it refuses")
			}
			if r.Body != nil && r.Body != http.NoBody && !closed {
				t.Error("RoundTrip left the refused request's body open")
			}
		})
	}
}

var errDialled = errors.New("dialled")

// refusingTransport is net/http's Transport dialling nothing: the oracle
// for what it refuses before it dials.
var refusingTransport = &http.Transport{
	DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, errDialled },
}

// transportRefuses reports whether net/http's Transport refuses r before
// it dials.
func transportRefuses(r *http.Request) bool {
	_, err := refusingTransport.RoundTrip(r)
	return err != nil && !errors.Is(err, errDialled)
}
