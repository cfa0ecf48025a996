package h1

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func get(t *testing.T, tr http.RoundTripper, method, url string, hdr map[string]string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(tr, req)
}

// TestTimeoutNotReplayed: a first-byte timeout on a reused connection is
// the upstream's silence, not the connection's end: the request is not
// sent again (it was, once per idle connection, before the replay rule
// asked why the exchange failed). net/http returns the timeout at once.
func TestTimeoutNotReplayed(t *testing.T) {
	var hangs atomic.Int32
	release := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			hangs.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		ready.Done()
		ready.Wait() // four connections at once
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	tr := newTransport()
	tr.FirstByteTimeout = 100 * time.Millisecond
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, _, err := get(t, tr, "GET", srv.URL+"/ok", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, _, err := get(t, tr, "POST", srv.URL+"/hang", map[string]string{"X-Idempotency-Key": "k"})
	if err == nil {
		t.Fatal("the request to a silent upstream succeeded, want the first-byte timeout")
	}
	if hangs.Load() != 1 {
		t.Errorf("request sent %d times on a first-byte timeout, want 1", hangs.Load())
	}
}

// idle408Server answers each connection's first request with 200
// keep-alive, then, while the connection is idle, sends a 408 and closes
// it (as some servers and load balancers do on their idle timeout).
func idle408Server(t *testing.T) *rawServer {
	return newRawServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return false
	})
}

// TestIdle408NotTakenForAnswer: what an upstream sends on an idle
// connection before closing it is not the next request's answer.
func TestIdle408NotTakenForAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   http.RoundTripper
	}{{"net/http", &http.Transport{}}, {"h1", newTransport()}} {
		t.Run(tc.name, func(t *testing.T) {
			url := idle408Server(t).url()
			if _, _, err := get(t, tc.tr, "GET", url, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(150 * time.Millisecond)
			resp, body, err := get(t, tc.tr, "GET", url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || body != "ok" {
				t.Errorf("second request got %d %q, want the upstream's 200 to it", resp.StatusCode, body)
			}
		})
	}
}

// TestClosedIdleConnectionNotUsed: a POST that may not be replayed is not
// sent on a connection the upstream closed while it was idle: net/http's
// reader goroutine sees the close as it happens, h1 peeks as it takes the
// connection.
func TestClosedIdleConnectionNotUsed(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   http.RoundTripper
	}{{"net/http", &http.Transport{}}, {"h1", newTransport()}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
			srv.Config.IdleTimeout = 50 * time.Millisecond
			srv.Start()
			defer srv.Close()
			if _, _, err := get(t, tc.tr, "POST", srv.URL, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if _, _, err := get(t, tc.tr, "POST", srv.URL, nil); err != nil {
				t.Errorf("POST on a connection closed while idle: %v", err)
			}
		})
	}
}

// TestHeaderLimit: response headers past 10 MiB are refused, as net/http
// refuses them (MaxResponseHeaderBytes' default).
func TestHeaderLimit(t *testing.T) {
	big := strings.Repeat("a", 11<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", big)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		tr   http.RoundTripper
	}{{"net/http", &http.Transport{}}, {"h1", newTransport()}} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := get(t, tc.tr, "GET", srv.URL, nil)
			if err == nil {
				t.Errorf("11 MiB of response headers accepted")
			}
		})
	}
}

// TestConcurrentUse, under -race: bodies closed from another goroutine
// while a read is blocked, contexts cancelled mid-body, EOF and Close
// racing, the sweep running.
func TestConcurrentUse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			w.(http.Flusher).Flush()
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(30 * time.Millisecond):
			case <-r.Context().Done():
			}
			io.WriteString(w, "b")
		default:
			io.WriteString(w, strings.Repeat("x", 1000))
		}
	}))
	defer srv.Close()
	tr := newTransport()
	tr.IdleTimeout = 20 * time.Millisecond
	tr.MaxIdlePerHost = 4
	tr.FirstByteTimeout = time.Second
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 60 {
				ctx, cancel := context.WithCancel(context.Background())
				path := "/fast"
				if (g+i)%3 == 0 {
					path = "/slow"
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					cancel()
					continue
				}
				switch i % 4 {
				case 0:
					io.ReadAll(resp.Body)
					go resp.Body.Close()
				case 1:
					go func() { time.Sleep(time.Millisecond); resp.Body.Close() }()
					io.ReadAll(resp.Body)
				case 2:
					go func() { time.Sleep(time.Millisecond); cancel() }()
					io.ReadAll(resp.Body)
					resp.Body.Close()
				case 3:
					b := make([]byte, 1)
					resp.Body.Read(b)
					resp.Body.Close()
				}
				cancel()
				if i%10 == 0 {
					tr.CloseIdleConnections()
				}
			}
		})
	}
	wg.Wait()
	tr.CloseIdleConnections()
}
