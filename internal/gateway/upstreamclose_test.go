package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestUpstreamClosesIdleConnections: an upstream that closes every
// kept-alive connection as soon as it has answered on it (a keep-alive
// timeout of zero, a restart between requests) costs the client nothing.
// Each request meets a connection the upstream has closed, and goes again
// on a new one inside the transport, before any byte of its answer: it is
// answered once, by one attempt, and the upstream acts on it once.
func TestUpstreamClosesIdleConnections(t *testing.T) {
	answer := `{"id":"chatcmpl-c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				served.Add(1)
				// Keep-alive by its headers, closed right after.
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
			})
		}
	})
	h := newHarness(t, harnessOptions{}, &backend{id: "a", endpoint: "http://" + ln.Addr().String()})
	const n = 5
	for i := range n {
		resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "chatcmpl-c") {
			t.Fatalf("request %d: %d %s, want the upstream's answer", i, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-Spillway-Attempts"); got != "1" {
			t.Errorf("request %d: X-Spillway-Attempts %q, want 1: the replay is the transport's, not the router's", i, got)
		}
	}
	if got := served.Load(); got != n {
		t.Errorf("the upstream answered %d requests, want %d", got, n)
	}
}
