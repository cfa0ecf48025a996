//go:build !race

// The race detector makes frames larger, and this test is about the size
// of frames: it runs in the build without it.

package gateway

import (
	"io"
	"net/http"
	"testing"
	"unsafe"
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
