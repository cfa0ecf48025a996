//go:build !race

// The race detector makes frames larger, and this test is about the size
// of frames: it runs in the build without it.

package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestStreamFirstFlushIsShallow measures how deep under the gateway's
// ServeHTTP a stream's first flush runs. That flush writes the answer's
// headers through net/http's chunkWriter.writeHeader, whose frame is 2.8
// KiB, and the stack it takes the connection's goroutine to is the one the
// stream is held on for minutes: under serve, forward and respond it was
// deep enough to double the goroutine's 8 KiB stack (8 KiB of RSS per held
// stream). Measured as held in spillway serve, it has about 1 KiB to spare
// now; this test keeps the gateway's part of the depth where it is.
func TestStreamFirstFlushIsShallow(t *testing.T) {
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseChunk(0)+"data: [DONE]\n\n")
	}})
	var top, first uintptr
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Grow the stack first, so that it is not moved between the two
		// addresses taken.
		deeper(64, func() {})
		top, first = stackAddr(), 0
		h.gw.ServeHTTP(&flushSpy{ResponseWriter: w, first: &first}, r)
	})
	resp := h.post("/v1/chat/completions", streamBody)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if first == 0 {
		t.Fatalf("the stream was never flushed; got %q", body)
	}
	got := int(top - first)
	t.Logf("first flush %d bytes below the gateway's ServeHTTP", got)
	if want := 1536; got > want {
		t.Errorf("the first flush of a stream runs %d bytes below the gateway's ServeHTTP, want at most %d: deeper, net/http's writeHeader grows a held stream's goroutine stack to 16 KiB", got, want)
	}
}

// flushSpy records the stack address of its first Flush.
type flushSpy struct {
	http.ResponseWriter
	first *uintptr
}

func (f *flushSpy) Flush() {
	if *f.first == 0 {
		*f.first = stackAddr()
	}
	f.ResponseWriter.(http.Flusher).Flush()
}

// stackAddr returns an address in its caller's frame.
//
//go:noinline
func stackAddr() uintptr {
	var x byte
	return uintptr(unsafe.Pointer(&x))
}

// deeper calls f below n frames of about 160 bytes each.
//
//go:noinline
func deeper(n int, f func()) {
	var pad [128]byte
	if n == 0 {
		f()
		return
	}
	touch(&pad)
	deeper(n-1, f)
	touch(&pad)
}

//go:noinline
func touch(b *[128]byte) { b[0]++ }

// TestHeldStreamStackStays8KiB serves a stream, plain and governed (a
// stored key with rpm and tpm, a deployment with tpm), on a connection
// goroutine whose stack is 8 KiB, and fails when the stack had to grow
// past that at any point of the request: a frame too large anywhere on
// the path (admission, routing, the first flush, the upstream read, the
// work after the answer) doubles it, and a held stream keeps the 16 KiB
// for its whole life. A stack that grows is copied elsewhere, so the
// address of a frame of the handler's moves; the garbage collector, the
// only other thing that moves a stack, is kept off meanwhile.
//
// TestStreamFirstFlushIsShallow measures one depth, the first flush's;
// this one catches a deep call anywhere, as the 1 KiB list of limits
// returned by value through three frames of admission did (49.5 KiB of RSS
// per held stream to 59.8).
func TestHeldStreamStackStays8KiB(t *testing.T) {
	if start := stackStartingSize(); start > 8<<10 {
		t.Skipf("goroutines start with %d bytes of stack here; the test needs them to grow to 8 KiB", start)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, tc := range []struct {
		name string
		key  string
		gw   func(t *testing.T, upstream string) http.Handler
	}{
		{"plain", testKey, plainStreamGateway},
		{"governed", "sk-key-held", governedStreamGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, sseChunk(0))
				w.(http.Flusher).Flush()
				<-release
				_, _ = io.WriteString(w, sseChunk(1)+usageChunk+"data: [DONE]\n\n")
			}))
			defer up.Close()
			gw := tc.gw(t, up.URL)
			var grew bool
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				// A new connection's goroutine starts with 2 or 4 KiB
				// of stack; about 4.5 KiB deep it is 8 KiB, and stays so
				// on the way back up.
				deeper(20, func() {})
				before := stackAddr()
				gw.ServeHTTP(w, r)
				grew = stackAddr() != before
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(streamBody))
			req.Header.Set("Authorization", "Bearer "+tc.key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			first := make([]byte, len(sseChunk(0)))
			if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, first event %q, %v", resp.StatusCode, first, err)
			}
			// The stream is held now; let it end.
			close(release)
			rest := readAll(t, resp.Body)
			<-done
			if !strings.HasSuffix(rest, "data: [DONE]\n\n") {
				t.Fatalf("stream ended with %q", rest)
			}
			if grew {
				t.Errorf("the goroutine serving the stream outgrew its 8 KiB stack: a frame on the request's path is too large (go build -gcflags=-S ./internal/... 2>&1 | grep STEXT lists each function's locals=), and every held stream pays 8 KiB more")
			}
		})
	}
}

// plainStreamGateway is a gateway with the static test key and one
// deployment on upstream, without limits.
func plainStreamGateway(t *testing.T, upstream string) http.Handler {
	r, err := router.New(router.Options{}, []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: upstream, Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1}})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	return New(Options{Router: r, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "test"}}), Transport: tr, Logger: slog.New(slog.DiscardHandler)})
}

// governedStreamGateway is the governed path: a stored key (sk-key-held)
// with rpm and tpm, a deployment with tpm, counted in one memory limiter.
func governedStreamGateway(t *testing.T, upstream string) http.Handler {
	clk := newClock()
	lim := limits.NewMemory(clk.Now)
	d := accessTestDeployment("chat", "gpt-4o", config.ClassChat, 1, 0, 1_000_000)
	d.Endpoint = upstream
	r, err := router.New(router.Options{Now: clk.Now, Limiter: lim}, []config.Deployment{d})
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeyring(nil, clk.Now)
	keys.LoadAccess([]store.Key{accessTestKey("key-held", store.Key{RPM: 1000, TPM: 1_000_000})}, nil, nil)
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	return New(Options{Router: r, Auth: keys, Transport: tr, Logger: slog.New(slog.DiscardHandler),
		Access: access.New(access.Options{Limiter: lim, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})})
}

// stackStartingSize is the stack new goroutines start with.
func stackStartingSize() uint64 {
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// usageChunk is a stream's usage event, as an upstream asked for it sends
// it last.
const usageChunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
