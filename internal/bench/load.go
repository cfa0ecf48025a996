package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
)

// Target is one endpoint under load: the full URL every request is POSTed to
// and the headers it carries.
type Target struct {
	Name   string
	URL    string
	Header http.Header
	// Body is what each request sends; nil sends LoadOptions.Body.
	Body []byte
	// PID, when not 0, is the process serving URL, whose CPU time over the
	// measured run, its children's included, is reported (Result.CPU).
	PID int
}

// LoadOptions shape one load run against one target.
type LoadOptions struct {
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration // not counted; 0 skips the warm-up
	Body        []byte
	Stream      bool          // expect SSE: measure TTFB and check for [DONE]
	Timeout     time.Duration // per request; default 60s
	// RootCAs, when not nil, are the authorities the client trusts for
	// an https target: the mock's own with --upstream-tls.
	RootCAs *x509.CertPool
	// Measure, when not nil, is called as the measured run starts (after
	// the warm-up, as the CPU time is read), and what it returns as the
	// run ends, with the result: readings of other processes that must
	// cover the measured run and nothing else.
	Measure func() func(*Result)
}

// Result is what one load run measured.
type Result struct {
	Target   string
	Requests int64 // 2xx responses read to the end
	Non2xx   int64
	Errors   int64 // transport errors, bodies cut short, streams without [DONE]
	// Statuses counts the non-2xx responses by status code.
	Statuses map[int]int64
	// ErrorSamples are a few distinct error messages and non-2xx bodies.
	ErrorSamples []string
	Elapsed      time.Duration
	RPS          float64 // Requests / Elapsed
	P50, P99     time.Duration
	TTFBP50      time.Duration // stream only
	TTFBP99      time.Duration
	Stream       bool
	// CPU is the CPU time (user and system) the target's process used over
	// the measured run; 0 when unknown.
	CPU time.Duration
	// Round is the round of the run (0 for the first), when targets are
	// measured in several alternating rounds.
	Round int
	// RedisCPU is the CPU time the Redis server of the governed
	// gateway's limits used over the measured run (governed rows with
	// --redis); 0 when unknown.
	RedisCPU time.Duration
	// Upstream is what the mock served while this target ran, by HTTP
	// version, when the run asked (an upstream on HTTPS); nil otherwise.
	Upstream *mock.ProtocolCounts
}

// Failed reports whether the run saw any error or non-2xx response.
func (r Result) Failed() bool { return r.Errors > 0 || r.Non2xx > 0 }

// NewClient returns the load generator's client: keep-alive connections,
// enough idle ones for concurrency workers, no compression, no proxy from the
// environment, HTTP/1.1 (what the targets speak on plain TCP).
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Load runs o.Concurrency workers against t: first the warm-up, whose
// results are dropped, then the measured run. Each worker loops sending a
// request and reading the whole body until the deadline, then finishes the
// request in flight. It returns ctx's error if ctx ends first.
func Load(ctx context.Context, t Target, o LoadOptions) (Result, error) {
	if o.Concurrency < 1 {
		return Result{}, errors.New("concurrency must be at least 1")
	}
	if o.Duration <= 0 {
		return Result{}, errors.New("duration must be positive")
	}
	client := NewClient(o.Concurrency, o.Timeout)
	if o.RootCAs != nil {
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: o.RootCAs}
	}
	defer client.CloseIdleConnections()

	capHint := 4096
	if o.Warmup > 0 {
		ws, elapsed := runPhase(ctx, client, t, o, o.Warmup, 64)
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		var n int
		for _, w := range ws {
			n += len(w.lat)
		}
		capHint = perWorkerCap(float64(n)/elapsed.Seconds(), o.Duration, o.Concurrency)
	}
	var measured func(*Result)
	if o.Measure != nil {
		measured = o.Measure()
	}
	cpu0, cpuErr := procCPU(t.PID)
	ws, elapsed := runPhase(ctx, client, t, o, o.Duration, capHint)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := summarize(t.Name, o.Stream, ws, elapsed)
	if cpu1, err := procCPU(t.PID); err == nil && cpuErr == nil {
		res.CPU = cpu1 - cpu0
	}
	if measured != nil {
		measured(&res)
	}
	return res, nil
}

// procCPU is TreeCPU for a known process.
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no process id")
	}
	return TreeCPU(pid)
}

// runPhase runs the workers for d and returns their samples and the time
// from the start until the last one finished.
func runPhase(ctx context.Context, client *http.Client, t Target, o LoadOptions, d time.Duration, capHint int) ([]*worker, time.Duration) {
	ws := make([]*worker, o.Concurrency)
	for i := range ws {
		ws[i] = newWorker(capHint, o.Stream)
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, w := range ws {
		body := o.Body
		if t.Body != nil {
			body = t.Body
		}
		wg.Go(func() { w.loop(ctx, client, t, body, deadline) })
	}
	wg.Wait()
	return ws, time.Since(start)
}

// maxErrorSamples bounds the error messages a worker keeps.
const maxErrorSamples = 3

// worker is one load goroutine's private state: nothing in it is shared, so
// the loop takes no lock.
type worker struct {
	stream    bool
	lat, ttfb []time.Duration
	non2xx    int64
	errs      int64
	statuses  map[int]int64
	samples   []string
	buf       []byte
	tail      []byte // last bytes of the body, to check for [DONE]
}

func newWorker(capHint int, stream bool) *worker {
	w := &worker{
		stream: stream,
		lat:    make([]time.Duration, 0, capHint),
		buf:    make([]byte, 32<<10),
		tail:   make([]byte, 0, tailLen),
	}
	if stream {
		w.ttfb = make([]time.Duration, 0, capHint)
	}
	return w
}

func (w *worker) loop(ctx context.Context, client *http.Client, t Target, body []byte, deadline time.Time) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		w.do(ctx, client, t, body)
	}
}

// do sends one request and reads the whole answer, recording its latency if
// it is a 2xx that arrived complete.
func (w *worker) do(ctx context.Context, client *http.Client, t Target, body []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		w.fail(err.Error())
		return
	}
	req.Header = t.Header.Clone()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			w.fail(err.Error())
		}
		return
	}
	var ttfb time.Duration
	w.tail = w.tail[:0]
	var snippet []byte
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	for {
		n, rerr := resp.Body.Read(w.buf)
		if n > 0 {
			if ttfb == 0 {
				ttfb = time.Since(start)
			}
			w.tail = appendTail(w.tail, w.buf[:n])
			if !ok2xx && len(snippet) < 200 {
				snippet = append(snippet, w.buf[:min(n, 200-len(snippet))]...)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			resp.Body.Close()
			if ctx.Err() == nil {
				w.fail(fmt.Sprintf("HTTP %d, reading the body: %v", resp.StatusCode, rerr))
			}
			return
		}
	}
	resp.Body.Close()
	total := time.Since(start)
	if !ok2xx {
		w.non2xx++
		if w.statuses == nil {
			w.statuses = make(map[int]int64)
		}
		w.statuses[resp.StatusCode]++
		w.sample(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(snippet)))
		return
	}
	if w.stream && !endsWithDone(w.tail) {
		w.fail(fmt.Sprintf("HTTP %d: stream ended without data: [DONE] (last bytes %q)", resp.StatusCode, w.tail))
		return
	}
	w.lat = append(w.lat, total)
	if w.stream {
		w.ttfb = append(w.ttfb, ttfb)
	}
}

func (w *worker) fail(msg string) {
	w.errs++
	w.sample(msg)
}

func (w *worker) sample(msg string) {
	if len(w.samples) >= maxErrorSamples {
		return
	}
	for _, s := range w.samples {
		if s == msg {
			return
		}
	}
	w.samples = append(w.samples, msg)
}

// tailLen is how much of the end of a body is kept.
const tailLen = 32

// appendTail returns tail followed by p, cut to the last tailLen bytes,
// reusing tail's array.
func appendTail(tail, p []byte) []byte {
	if len(p) >= tailLen {
		return append(tail[:0], p[len(p)-tailLen:]...)
	}
	if drop := len(tail) + len(p) - tailLen; drop > 0 {
		tail = append(tail[:0], tail[drop:]...)
	}
	return append(tail, p...)
}

// endsWithDone reports whether an SSE body ends with the data: [DONE] event.
func endsWithDone(tail []byte) bool {
	return bytes.HasSuffix(bytes.TrimRight(tail, "\r\n "), []byte("data: [DONE]"))
}

// summarize merges the workers' samples into a Result.
func summarize(name string, stream bool, ws []*worker, elapsed time.Duration) Result {
	r := Result{Target: name, Elapsed: elapsed, Stream: stream}
	lat := make([][]time.Duration, 0, len(ws))
	ttfb := make([][]time.Duration, 0, len(ws))
	seen := map[string]bool{}
	for _, w := range ws {
		lat = append(lat, w.lat)
		ttfb = append(ttfb, w.ttfb)
		r.Non2xx += w.non2xx
		r.Errors += w.errs
		for code, n := range w.statuses {
			if r.Statuses == nil {
				r.Statuses = make(map[int]int64)
			}
			r.Statuses[code] += n
		}
		for _, s := range w.samples {
			if !seen[s] && len(r.ErrorSamples) < maxErrorSamples {
				seen[s] = true
				r.ErrorSamples = append(r.ErrorSamples, s)
			}
		}
	}
	all := sortedConcat(lat)
	r.Requests = int64(len(all))
	if elapsed > 0 {
		r.RPS = float64(r.Requests) / elapsed.Seconds()
	}
	r.P50, r.P99 = Percentile(all, 50), Percentile(all, 99)
	if stream {
		t := sortedConcat(ttfb)
		r.TTFBP50, r.TTFBP99 = Percentile(t, 50), Percentile(t, 99)
	}
	return r
}
