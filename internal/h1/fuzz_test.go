package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// FuzzResponse serves whatever bytes as the upstream's answer and holds
// h1 to net/http's reading of them: the same status and body when
// http.ReadResponse makes sense of them, an error when it does not, and
// never a panic or a hang.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		okResponse,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n" + okResponse,
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"garbage",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		wantStatus, wantBody, wantErr := reference(raw)
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			req, err := http.ReadRequest(bufio.NewReader(server))
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			server.Write(raw)
		}()
		dialed := false
		tr := &Transport{Dial: func(context.Context, string, string) (net.Conn, error) {
			if dialed {
				return nil, errors.New("dialled twice")
			}
			dialed = true
			return client, nil
		}}
		defer tr.CloseIdleConnections()
		r, _ := http.NewRequest(http.MethodPost, "http://up/v1/chat/completions", strings.NewReader("{}"))
		resp, err := tr.RoundTrip(r)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		client.Close()
		<-done
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("h1 error %v, net/http's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if resp.StatusCode != wantStatus || !bytes.Equal(body, wantBody) {
			t.Errorf("h1 read %d %q, net/http %d %q", resp.StatusCode, body, wantStatus, wantBody)
		}
	})
}

// reference is net/http's reading of raw as the answer to a POST, past
// interim answers as h1 reads it.
func reference(raw []byte) (int, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	r, _ := http.NewRequest(http.MethodPost, "http://up/v1/chat/completions", nil)
	for {
		resp, err := http.ReadResponse(br, r)
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return 0, nil, errSwitched
		}
		if resp.StatusCode >= 200 {
			body, err := io.ReadAll(resp.Body)
			return resp.StatusCode, body, err
		}
	}
}
