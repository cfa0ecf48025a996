package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/h1"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/tracing"
)

// Transport is the upstream transport, the only network seam of the
// gateway. Requests to plain http:// upstreams with a body in memory
// (every JSON request) are made on the handler's own goroutine (h1);
// everything else (TLS and HTTP/2, proxies, WebSocket, streamed uploads)
// goes through net/http's Transport. Both bound dialling by the connect
// timeout and the wait for response headers by the first-byte timeout,
// and keep connections alive and reused generously.
type Transport struct {
	h1  *h1.Transport
	std *http.Transport
}

// NewTransport returns the upstream transport: connect bounds dialling and
// the TLS handshake, firstByte bounds the wait for response headers.
func NewTransport(connect, firstByte time.Duration) *Transport {
	dial := dialReadAhead((&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext)
	return &Transport{
		h1: &h1.Transport{
			Dial:             dial,
			FirstByteTimeout: firstByte,
			MaxIdlePerHost:   256,
			IdleTimeout:      90 * time.Second,
			WriteBufferSize:  upstreamWriteBuffer,
			ReadBufferSize:   upstreamReadBuffer,
		},
		std: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dial,
			TLSHandshakeTimeout:   connect,
			ResponseHeaderTimeout: firstByte,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			// Each upstream connection keeps its buffers for life, and a
			// stream holds its connection for minutes: see
			// upstreamWriteBuffer. Under them, the connection reads ahead
			// (readAheadConn): a burst of events takes one syscall, not one
			// per buffer's worth.
			WriteBufferSize: upstreamWriteBuffer,
			ReadBufferSize:  upstreamReadBuffer,
		},
	}
}

// RoundTrip sends r through h1 when it takes it and no proxy is set for
// its URL, else through net/http.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.h1.Handles(r) {
		if p, err := http.ProxyFromEnvironment(r); p == nil && err == nil {
			return t.h1.RoundTrip(r)
		}
	}
	return t.std.RoundTrip(r)
}

// CloseIdleConnections closes both transports' idle connections.
func (t *Transport) CloseIdleConnections() {
	t.h1.CloseIdleConnections()
	t.std.CloseIdleConnections()
}

// upstreamWriteBuffer and upstreamReadBuffer are the upstream connections'
// buffers (net/http's default is 4 KiB each), kept for the connection's
// life: a held stream keeps both for minutes.
//
// Only the request's headers and a short body go through the write
// buffer: a request whose headers and body fit in it (a short chat, the
// headers about 300 bytes) goes out in one write, and a longer body is
// written past it, two writes in all, as past 1 KiB before. Halving it
// from 1 KiB took 0.5 KiB off each held stream; requests of 0.5-1 KiB in
// all take a write more.
//
// The read buffer only parses the response's header lines and a stream's
// chunk lines: the stream's events are read through it into the stream's
// own buffer (streamBufSize), taken only while its upstream is sending,
// and a JSON answer's large reads go past it. Under it the connection
// reads ahead (readAheadConn), so a refill costs a copy from memory, not a
// syscall. Halving it from 1 KiB took 0.5 KiB off each held stream; an
// event of Azure's (150-600 bytes, with its content-filter results) larger
// than it costs one refill more.
const (
	upstreamWriteBuffer = 512
	upstreamReadBuffer  = 512
)

// errIdleTimeout is the cause of an attempt cancelled because the upstream
// body went silent for longer than the idle timeout.
var errIdleTimeout = idleTimeoutError{}

type idleTimeoutError struct{}

func (idleTimeoutError) Error() string {
	return "upstream went silent for longer than the idle timeout"
}
func (idleTimeoutError) Timeout() bool   { return true }
func (idleTimeoutError) Temporary() bool { return true }

// maxErrorBody is how much of a non-2xx upstream body is read to classify
// it; the rest is streamed through if the body goes to the client.
const maxErrorBody = 8 << 10

// upstream is one attempt's response, held until the loop decides whether
// the client gets it.
type upstream struct {
	resp    *http.Response
	head    []byte // first bytes of the body, read before committing
	bufp    *[]byte
	err     error // transport error, when resp is nil
	latency time.Duration
	// waited is how long the attempt waited for the upstream's headers by
	// the router's clock, for an attempt the client abandoned.
	waited time.Duration
	// injected is true when the gateway added stream_options.include_usage
	// to this attempt's request: the usage event is then not the client's.
	injected bool
	// span is the attempt's trace span (nil when tracing is off).
	span *tracing.Span
	// idle closes the body when the upstream stays silent for timeout while
	// the gateway waits on it; idled records that it did. idleArmed and
	// idleFired say whether it runs, and whether a disarm found it gone
	// off (idletimer.go).
	idle    *idleTimer
	idled   atomic.Bool
	timeout time.Duration
	// cut is set when shutdown ended the stream (Gateway.Cut).
	cut atomic.Bool
	// outcome is the attempt's, once respond has started sending its
	// answer.
	outcome router.Outcome
	// wait takes the first bytes of a stream's next event while the
	// upstream is silent (next).
	wait [streamWaitSize]byte
	// busy is set once a read of the stream filled its buffer: its later
	// reads take the burst buffer.
	busy bool
	// whole is set when head is a JSON answer read to its end: nothing
	// is left to read of it.
	whole     bool
	idleArmed bool
	idleFired bool
}

// streamWaitSize is how much of its next bytes a stream waits for
// without its buffer: a model is silent most of a stream's life, and a
// kilobyte held through every silence is a kilobyte per held stream.
const streamWaitSize = 64

// next reads a stream's next bytes. It waits for them in up.wait, the
// stream's buffer given back meanwhile, then reads what follows of the
// same event into the buffer, taken again. That second read may block
// (net/http's chunked reader, asked for more after a read that ended at a
// chunk's end, waits for the next chunk), so it is made only while the
// event is incomplete, when the upstream owes its rest anyway: a whole
// event never waits for the next one. The chunked reader goes on past the
// event through the chunks already at hand, so a busy stream's burst of
// events comes in one read, up to the buffer's size: a stream that
// filled its buffer once reads into the burst buffer from then on. m is
// nil for the first bytes, before the meter exists.
func (up *upstream) next(m *meter) ([]byte, error) {
	if up.bufp != nil {
		putStreamBuf(up.bufp)
		up.bufp = nil
	}
	// One idle timer for both reads: the second waits only for the rest
	// of an event the upstream has begun.
	up.arm()
	n, err := up.resp.Body.Read(up.wait[:])
	if up.busy {
		up.bufp = streamBurstPool.Get().(*[]byte)
	} else {
		up.bufp = streamBufPool.Get().(*[]byte)
	}
	buf := *up.bufp
	copy(buf, up.wait[:n])
	if err == nil && n > 0 && !completes(m, buf[:n]) {
		var k int
		k, err = up.resp.Body.Read(buf[n:])
		n += k
	}
	up.disarm()
	up.busy = up.busy || n == len(buf)
	return buf[:n], up.readErr(err)
}

// completes reports whether chunk ends an event, after what m keeps of
// an incomplete one (nothing when m is nil).
func completes(m *meter, chunk []byte) bool {
	if m == nil {
		return eventEnd(chunk) >= 0
	}
	return m.completes(chunk)
}

// Answers are read through a pooled buffer. A whole JSON answer or an
// error body is read at once into a large one, given back within the
// request. A stream takes a smaller one only while its upstream is
// sending (upstream.next): ten thousand slow streams, silent most of
// their life, hold none of it.
var (
	bufPool         = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	streamBufPool   = sync.Pool{New: func() any { b := make([]byte, streamBufSize); return &b }}
	streamBurstPool = sync.Pool{New: func() any { b := make([]byte, streamBurstSize); return &b }}
)

// streamBufSize is the size of a stream's buffer: an event or a few,
// read in one call (an event of Azure's is 150-600 bytes). Slow streams'
// events come together when their model's tokens do, and thousands of them
// taking a buffer at once add up in the gateway's peak memory.
const streamBufSize = 1 << 10

// streamBurstSize is the buffer of a busy stream, one that filled its
// buffer: a burst of its events in one read, and one write and flush to
// the client, where streamBufSize took four.
const streamBurstSize = 4 << 10

// isStreamBuf reports whether a pooled buffer is a stream's.
func isStreamBuf(b []byte) bool {
	return cap(b) == streamBufSize || cap(b) == streamBurstSize
}

// putStreamBuf gives a stream's buffer back to its pool.
func putStreamBuf(bufp *[]byte) {
	if cap(*bufp) == streamBurstSize {
		streamBurstPool.Put(bufp)
	} else {
		streamBufPool.Put(bufp)
	}
}

// attempt sends req to pick's deployment and reads just enough to classify
// the outcome: the headers, and the first bytes of the body. A failure
// before any byte of a success body is read is as retryable as a refused
// connection, because nothing has reached the client yet. The upstream
// request shares the client's context: a client that leaves cancels it.
// A failed attempt's trace span ends here; a successful one's once its
// body has been sent.
func (g *Gateway) attempt(req *exchange, pick router.Pick) (up *upstream, o router.Outcome) {
	r := req.r
	up = &upstream{timeout: g.idle}
	defer func() {
		if o.Verdict != router.Success {
			up.endSpan(o, up.err)
		}
	}()
	up.injected = req.usageBody != nil && pick.Target.StreamUsage
	ctx := r.Context()
	if g.tracer != nil {
		ctx, up.span = g.tracer.StartAttempt(ctx, pick.ID(), pick.Config.Provider, pick.Config.Deployment, pick.Target.Host(), req.res.attempts)
	}
	out, err := g.upstreamRequest(ctx, r, req, pick, up.injected)
	if err != nil {
		up.err = err
		return up, router.ClassifyPrepareError(r.Context(), err)
	}
	g.tracer.Inject(ctx, out.Header)
	start, waitStart := time.Now(), g.router.Now()
	resp, err := g.transport.RoundTrip(out)
	up.latency = time.Since(start)
	if err != nil {
		up.err = err
		up.waited = g.router.Now().Sub(waitStart)
		return up, router.ClassifyError(r.Context(), err)
	}
	up.resp = resp
	up.watch()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 && (req.peek.Stream || isEventStream(resp.Header.Get("Content-Type"))) {
		// The first token may be seconds away: wait for it without the
		// buffer, as for every later one.
		head, err := up.next(nil)
		up.head = head
		if len(head) == 0 && err != nil && !errors.Is(err, io.EOF) {
			up.err = err
			return up, router.ClassifyError(r.Context(), err)
		}
		return up, router.Outcome{Verdict: router.Success}
	}
	up.bufp = bufPool.Get().(*[]byte)
	buf := *up.bufp
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		n, err := io.ReadFull(up.body(), buf[:maxErrorBody])
		up.head = buf[:n]
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			up.err = err
			return up, router.ClassifyError(r.Context(), err)
		}
		return up, router.ClassifyResponse(resp.StatusCode, resp.Header, up.head, g.router.Now())
	}
	// A JSON answer is read whole (up to maxHeldAnswer) before the client
	// sees a byte, so an upstream that breaks off mid-body is retried
	// elsewhere instead of sending a truncated answer.
	if isJSON(resp.Header.Get("Content-Type")) {
		up.head, err = readAnswer(up.body(), buf, maxHeldAnswer)
		if err != nil {
			up.err = err
			return up, router.ClassifyError(r.Context(), err)
		}
		// Short of the limit, readAnswer stopped at the end.
		up.whole = len(up.head) < maxHeldAnswer
		return up, router.Outcome{Verdict: router.Success}
	}
	// Anything else (audio, a file's content) streams through in large
	// reads.
	n, err := up.body().Read(buf)
	up.head = buf[:n]
	if n == 0 && err != nil && !errors.Is(err, io.EOF) {
		up.err = err
		return up, router.ClassifyError(r.Context(), err)
	}
	return up, router.Outcome{Verdict: router.Success}
}

// maxHeldAnswer bounds the JSON answer read whole before it is sent; the
// rest of a larger one streams through as it comes.
const maxHeldAnswer = 4 << 20

// readAnswer reads src until EOF or limit bytes, into buf while it fits
// (the pooled buffer: no allocation for the usual answer) and a copy
// beyond. It returns what was read, and a read error other than EOF.
func readAnswer(src io.Reader, buf []byte, limit int) ([]byte, error) {
	out := buf[:0]
	for len(out) < limit {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)] // grows off the pooled buffer
		}
		n, err := src.Read(out[len(out):min(cap(out), limit)])
		out = out[:len(out)+n]
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func isJSON(ct string) bool {
	return len(ct) >= len("application/json") && strings.EqualFold(ct[:len("application/json")], "application/json")
}

// body returns the response body read under the idle timeout.
func (up *upstream) body() io.Reader { return idleReader{up} }

// idleReader arms the idle timer only while waiting on the upstream, so a
// slow client is not mistaken for a silent upstream.
type idleReader struct{ up *upstream }

func (ir idleReader) Read(p []byte) (int, error) {
	up := ir.up
	up.arm()
	n, err := up.resp.Body.Read(p)
	up.disarm()
	return n, up.readErr(err)
}

// readErr says why a read of the body under the idle timer failed: the
// body closed by a shutdown's cut or by the idle timer looks like its end
// or a closed body to net/http.
func (up *upstream) readErr(err error) error {
	switch {
	case err == nil:
	case up.cut.Load():
		// Closing the body mid-read can look like its end: it is not.
		err = errCut
	case errors.Is(err, io.EOF):
	case up.idled.Load():
		err = errIdleTimeout
	}
	return err
}

// endSpan ends the attempt's span with its outcome.
func (up *upstream) endSpan(o router.Outcome, err error) {
	status := 0
	if up.resp != nil {
		status = up.resp.StatusCode
	}
	up.span.EndAttempt(status, o.Verdict.String(), err)
	up.span = nil
}

// close releases everything the attempt holds.
func (up *upstream) close() {
	up.unwatch()
	if up.resp != nil {
		up.resp.Body.Close()
	}
	if up.bufp != nil {
		if isStreamBuf(*up.bufp) {
			putStreamBuf(up.bufp)
		} else {
			bufPool.Put(up.bufp)
		}
		up.bufp, up.head = nil, nil
	}
}

// forwardedHeaders are the client headers passed upstream. Everything else,
// credentials first, stays at the gateway.
var forwardedHeaders = []string{"Accept", "User-Agent", "Openai-Beta", "Extra-Parameters", "Azureml-Model-Deployment"}

// jsonContentType and identityEncoding are shared by every upstream
// request; header values are never modified by the transport.
var (
	jsonContentType  = []string{"application/json"}
	identityEncoding = []string{"identity"}
)

// errUnsupported means the picked deployment's upstream does not serve the
// operation (a DALL-E 2 job on an OpenAI deployment).
var errUnsupported = router.ErrUnsupported

func (g *Gateway) upstreamRequest(ctx context.Context, r *http.Request, req *exchange, pick router.Pick, injectUsage bool) (*http.Request, error) {
	u := upstreamURL(pick.Target, r, req)
	if u == nil {
		return nil, errUnsupported
	}
	method := req.op.Method()
	body, p := req.body, req.peek
	if injectUsage {
		body, p = req.usageBody, req.usagePeek()
	}
	hasBody := req.spec.Body != provider.BodyNone && method != http.MethodGet
	h := make(http.Header, 8)
	switch req.spec.Body {
	case provider.BodyJSON:
		if m := pick.Target.ModelFor(req.op); m != "" && m != p.Model {
			body = withModel(body, p, m)
		}
		h["Content-Type"] = jsonContentType
	case provider.BodyMultipart:
		if m := pick.Target.ModelFor(req.op); m != "" && m != p.Model {
			body = withFormModel(body, p, m)
		}
		h["Content-Type"] = req.contentType
	case provider.BodyStream:
		h["Content-Type"] = r.Header["Content-Type"]
	case provider.BodyOpaque:
		if hasBody {
			h["Content-Type"] = jsonContentType
		}
	}
	for _, k := range forwardedHeaders {
		if v, ok := r.Header[k]; ok {
			h[k] = v
		}
	}
	if req.peek.Stream {
		// Without an Accept-Encoding of ours, net/http asks for gzip in a
		// header map of its own, kept with the connection for the whole
		// stream (368 bytes), and would inflate a gzipped stream through
		// a decompressor of 40 KiB and more. An event stream flushed a
		// few hundred bytes at a time gains nothing from it.
		h["Accept-Encoding"] = identityEncoding
	}
	h["X-Request-Id"] = req.idHeader
	// A nil X-Idempotency-Key is not sent, but tells net/http it may
	// replay this POST on a fresh connection when a kept-alive one was
	// closed before any byte of the response: an upstream restart or idle
	// close then costs nothing.
	h["X-Idempotency-Key"] = nil
	if err := pick.Target.Authorize(ctx, h); err != nil {
		return nil, err
	}
	out := &http.Request{
		Method: method,
		URL:    u,
		Host:   u.Host,
		Header: h,
		Proto:  "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	if req.spec.Body == provider.BodyStream {
		// Sent once: it cannot be replayed, so no GetBody.
		req.upload = newFormStream(r.Body, req.boundary)
		out.Body, out.ContentLength = req.upload, r.ContentLength
	} else if hasBody {
		// An io.NopCloser of a *bytes.Reader is a body net/http knows is
		// in memory, so it writes the headers and a body that fits in the
		// connection's buffer in one write; a body of any other type made
		// it flush the headers first: two syscalls and two packets for
		// every request (TestUpstreamRequestIsOneWrite).
		out.Body, out.GetBody, out.ContentLength = io.NopCloser(bytes.NewReader(body)), replayBody(body).replay, int64(len(body))
	}
	return out.WithContext(ctx), nil
}

// replayBody is an upstream request body read again for a replay on a
// fresh connection.
type replayBody []byte

func (b replayBody) replay() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}
