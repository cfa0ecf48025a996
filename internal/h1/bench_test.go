package h1

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRoundTrip is a chat request and its JSON answer through h1
// and through net/http's Transport, over loopback to a net/http server,
// one at a time: the transport's own cost, system calls included.
func BenchmarkRoundTrip(b *testing.B) {
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer srv.Close()
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`)
	d := &net.Dialer{Timeout: time.Second}
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"h1", &Transport{Dial: d.DialContext, FirstByteTimeout: 10 * time.Second, MaxIdlePerHost: 8, ReadBufferSize: 512, WriteBufferSize: 512}},
		{"net-http", &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: 8, ReadBufferSize: 512, WriteBufferSize: 512}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(body))
				resp, err := tc.rt.RoundTrip(r)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			tc.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
		})
	}
}
