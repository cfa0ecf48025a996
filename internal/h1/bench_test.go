package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// BenchmarkWriteRequest writes the gateway's typical upstream request, a
// chat to an Azure deployment, into a connection's write buffer over
// io.Discard: the cost of the request's head, and of its short body, by
// (*http.Request).Write and by h1 (check, then writeRequest, as
// RoundTrip does).
func BenchmarkWriteRequest(b *testing.B) {
	r := chatRequest()
	bw := bufio.NewWriterSize(io.Discard, 512)
	b.Run("http.Request.Write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Body, _ = r.GetBody()
			if err := r.Write(bw); err != nil {
				b.Fatal(err)
			}
			bw.Flush()
		}
	})
	b.Run("h1", func(b *testing.B) {
		b.ReportAllocs()
		var src bodyReader // the connection's
		for b.Loop() {
			r.Body, _ = r.GetBody()
			if err := check(r); err != nil {
				b.Fatal(err)
			}
			if err := writeRequest(bw, r, &src); err != nil {
				b.Fatal(err)
			}
			bw.Flush()
		}
	})
}

// chatRequest is a request as the gateway sends it upstream (upstreamRequest
// in internal/gateway).
func chatRequest() *http.Request {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16}`)
	u, _ := url.Parse("http://10.0.0.7:8080/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
	return &http.Request{
		Method: http.MethodPost,
		URL:    u,
		Host:   u.Host,
		Header: http.Header{
			"Content-Type":      {"application/json"},
			"Accept":            {"application/json"},
			"X-Request-Id":      {"01JH4M3W8Q6V0Y7T2K9B5N1C3D"},
			"X-Idempotency-Key": nil,
			"Api-Key":           {"0123456789abcdef0123456789abcdef"},
		},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
	}
}
