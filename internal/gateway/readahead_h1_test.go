package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadAheadBytesPastAnswerNotKept: bytes an upstream sent past an
// answer, which readAheadConn read ahead beyond the 512-byte buffer (a
// large read of the body skips the buffer), keep the connection out of
// h1's pool (readAheadConn.Buffered): the next request does not take them
// for its answer.
func TestReadAheadBytesPastAnswerNotKept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					if served.Add(1) > 1 {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
						continue
					}
					// A 600-byte body followed by bytes past its
					// Content-Length (a buggy upstream, a duplicated
					// response) in one segment. The body's read (p >= 512)
					// bypasses the bufio buffer, so the extra bytes stay
					// in readAheadConn.ahead.
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n")
					time.Sleep(20 * time.Millisecond)
					io.WriteString(c, strings.Repeat("b", 600)+"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
				}
			}()
		}
	}()
	tr := NewTransport(time.Second, time.Second)
	defer tr.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/"
	for i, want := range []string{strings.Repeat("b", 600), "fresh"} {
		req, _ := http.NewRequest("GET", url, nil)
		resp, err := tr.h1.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := readAnswer(resp.Body, make([]byte, 32<<10), maxHeldAnswer) // as attempt reads a JSON answer
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("request %d got %d %q, want %q", i, resp.StatusCode, b, want)
		}
	}
}
