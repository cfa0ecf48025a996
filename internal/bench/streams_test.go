package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name        string
		status      string
		rss         int64
		threads     int
		wantFailure bool
	}{
		{"both", "Name:\tspillway\nVmHWM:\t  9000 kB\nVmRSS:\t  8192 kB\nThreads:\t7\n", 8192 << 10, 7, false},
		{"no threads line", "VmRSS:\t 1 kB\n", 1 << 10, 0, false},
		{"no VmRSS", "VmHWM:\t 1 kB\n", 0, 0, true},
		{"bad unit", "VmRSS:\t 1 MB\n", 0, 0, true},
		{"negative", "VmRSS:\t -1 kB\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, threads, err := ParseVmRSS(tt.status)
			if got := err != nil; got != tt.wantFailure {
				t.Fatalf("error = %v, want failure %v", err, tt.wantFailure)
			}
			if rss != tt.rss || threads != tt.threads {
				t.Errorf("ParseVmRSS = %d, %d; want %d, %d", rss, threads, tt.rss, tt.threads)
			}
		})
	}
}

// TestHoldStreams holds streams open against a server that sends one event
// and then waits for the client to leave: every stream is open at the
// sample, and every handler sees its client go when the run ends.
func TestHoldStreams(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc")
	}
	var left atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Once the body is read, net/http watches the connection and
		// ends the context when the client goes.
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {}\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		left.Add(1)
	}))
	defer srv.Close()
	const n = 50
	res, err := HoldStreams(context.Background(), Target{Name: "test", URL: srv.URL, Body: []byte(`{}`), Header: http.Header{}}, os.Getpid(), StreamsOptions{Streams: n, Dialers: 8, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != n || res.Failed != 0 {
		t.Fatalf("Open, Failed = %d, %d; want %d, 0 (errors %v)", res.Open, res.Failed, n, res.ErrorSamples)
	}
	if res.IdleRSS <= 0 || res.HeldRSS <= 0 || res.Threads < 1 {
		t.Errorf("RSS %d -> %d, threads %d: want positive", res.IdleRSS, res.HeldRSS, res.Threads)
	}
	srv.Close() // waits for the handlers
	if got := left.Load(); got != n {
		t.Errorf("handlers that saw the client leave = %d, want %d", got, n)
	}
}

// TestHoldStreamsRefused: streams the target refuses are counted as
// failed, with the reason.
func TestHoldStreamsRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	res, err := HoldStreams(context.Background(), Target{Name: "test", URL: srv.URL, Header: http.Header{}}, os.Getpid(), StreamsOptions{Streams: 5, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != 0 || res.Failed != 5 {
		t.Fatalf("Open, Failed = %d, %d; want 0, 5", res.Open, res.Failed)
	}
	if len(res.ErrorSamples) != 1 || !strings.Contains(res.ErrorSamples[0], "status 429") {
		t.Errorf("ErrorSamples = %q, want one naming status 429", res.ErrorSamples)
	}
}
