package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"
)

// NewProxy returns the bare proxy: an httputil.ReverseProxy whose Rewrite
// hook only points the request at upstream, over a clone of the default
// transport keeping at least maxIdle idle connections to it. It is the
// floor the gateway is compared with. errorLog may be nil (discard).
//
// Two standard knobs are set. A BufferPool: without one, ReverseProxy
// allocates a 32 KiB copy buffer per request, and at thousands of requests a
// second the "floor" becomes mostly garbage collection. And full duplex
// (http.ResponseController.EnableFullDuplex): without it the HTTP/1 server
// closes the inbound body as soon as the response headers go out, and when
// a fast upstream answers (and the proxy flushes an SSE header) before the
// transport has made its final read of that body, the transport tears the
// upstream connection down mid-stream (golang/go#40747) and the client sees
// "unexpected EOF". A proxy that reads the body before forwarding, as the
// gateway does, is not exposed to this.
func NewProxy(upstream *url.URL, maxIdle int, errorLog *log.Logger) http.Handler {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConnsPerHost = max(maxIdle, 64)
	t.MaxIdleConns = max(t.MaxIdleConns, 2*t.MaxIdleConnsPerHost)
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
		},
		Transport:  t,
		ErrorLog:   errorLog,
		BufferPool: &bufferPool{},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

// ParseUpstream checks that s is an absolute http(s) URL with a host.
func ParseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL with a host", s)
	}
	return u, nil
}

// ServeProxy serves the bare proxy to upstream on listen until ctx ends.
// ready is called with the address once it listens.
func ServeProxy(ctx context.Context, upstream, listen string, maxIdle int, ready func(addr string)) error {
	u, err := ParseUpstream(upstream)
	if err != nil {
		return fmt.Errorf("--upstream: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           NewProxy(u, maxIdle, log.New(os.Stderr, "bare proxy: ", log.LstdFlags)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bufferPool is ReverseProxy's copy buffers, 32 KiB each.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == 32<<10 {
		buf = buf[:cap(buf)]
		b.p.Put(&buf)
	}
}
