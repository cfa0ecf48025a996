package h1

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
)

// closeTracker is a body that says when it is closed.
type closeTracker struct {
	io.ReadCloser
	closed *bool
}

func (c closeTracker) Close() error { *c.closed = true; return c.ReadCloser.Close() }

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
