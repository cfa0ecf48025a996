package mock

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value is a fast, faultless upstream
// named "mock".
type Options struct {
	// Latency is added before the response headers of every routed
	// request, errors included. Default 0.
	Latency time.Duration
	// TokensPerSecond paces streamed answers, one token per event.
	// 0 (the default) streams as fast as possible. Non-streaming answers
	// are not paced (see FaultSlow for that).
	TokensPerSecond float64
	// Faults are injected failures, checked in order for every routed
	// request. See Fault and SetFaults.
	Faults []Fault
	// Name is echoed in the x-mock-name header, in response ids and in
	// system_fingerprint, so tests can tell upstreams apart. Default "mock".
	Name string
	// Seed seeds the dice of fault probabilities, so that a fixed seed and
	// the same sequence of requests give the same faults. 0 (the default)
	// seeds from the runtime's random source.
	Seed int64
	// RequireKey, when not empty, is the only key accepted, in an api-key
	// header or as Authorization: Bearer; other requests get Azure's 401.
	// Default "": any key, or none, is accepted.
	RequireKey string
	// BatchPolls is how many GETs of a batch it takes to complete.
	// Default DefaultBatchPolls.
	BatchPolls int
}

// maxRequestBody bounds what the mock reads from a client.
const maxRequestBody = 32 << 20

// Server is a simulated OpenAI / Azure OpenAI / Azure AI Search upstream.
// It is an http.Handler; serve it with net/http or httptest. It is safe for
// concurrent use.
type Server struct {
	latency    time.Duration
	tps        float64
	name       string
	nameJSON   []byte   // name escaped for use inside JSON strings
	nameHeader []string // value of x-mock-name
	requireKey []byte

	faults    atomic.Pointer[[]Fault]
	requests  atomic.Int64
	jobs      objects[job]
	responses objects[respState]
	files     objects[mockFile]
	uploads   objects[mockUpload]
	batches   objects[mockBatch]
	// vectorStores hold their files' ids and file batches.
	vectorStores objects[mockVectorStore]
	// conversations keep their items.
	conversations objects[mockConversation]
	// batchPolls is Options.BatchPolls.
	batchPolls int
	// salt makes this server's object ids its own, even beside another
	// server of the same name.
	salt uint64
	// idPrefix is "req_" and the salt in hex, the start of every
	// x-request-id (requestID).
	idPrefix [4 + 16]byte

	rngMu sync.Mutex
	rng   *rand.Rand

	done      chan struct{}
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// New returns a Server for opts. Faults are used as given; check faults
// built in code with Fault.Validate.
func New(opts Options) *Server {
	name := opts.Name
	if name == "" {
		name = "mock"
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Server{
		latency:       max(opts.Latency, 0),
		tps:           max(opts.TokensPerSecond, 0),
		name:          name,
		nameJSON:      appendEscaped(nil, name),
		nameHeader:    []string{name},
		rng:           rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		done:          make(chan struct{}),
		jobs:          objects[job]{max: maxJobs, ttl: jobTTL},
		responses:     objects[respState]{max: maxResponses, ttl: responseTTL},
		files:         objects[mockFile]{max: maxFiles, ttl: fileTTL},
		uploads:       objects[mockUpload]{max: maxUploads, ttl: uploadTTL},
		batches:       objects[mockBatch]{max: maxBatches, ttl: batchTTL},
		vectorStores:  objects[mockVectorStore]{max: maxVectorStores, ttl: vectorStoreTTL},
		conversations: objects[mockConversation]{max: maxConversations, ttl: conversationTTL},
		batchPolls:    opts.BatchPolls,
		salt:          rand.Uint64(),
	}
	if s.batchPolls <= 0 {
		s.batchPolls = DefaultBatchPolls
	}
	copy(s.idPrefix[:], "req_")
	hex.Encode(s.idPrefix[4:], binary.BigEndian.AppendUint64(nil, s.salt))
	if opts.RequireKey != "" {
		s.requireKey = []byte(opts.RequireKey)
	}
	s.SetFaults(opts.Faults)
	return s
}

// Requests returns how many requests the server has received, whatever
// their outcome.
func (s *Server) Requests() int64 { return s.requests.Load() }

// SetFaults replaces the faults for the requests that arrive from now on.
// The slice is copied; nil or empty removes every fault.
func (s *Server) SetFaults(faults []Fault) {
	if len(faults) == 0 {
		s.faults.Store(nil)
		return
	}
	fs := append([]Fault(nil), faults...)
	s.faults.Store(&fs)
}

// Faults returns a copy of the faults in force.
func (s *Server) Faults() []Fault {
	fs := s.faults.Load()
	if fs == nil {
		return nil
	}
	return append([]Fault(nil), *fs...)
}

// Close ends what the server keeps waiting: hung requests, pending
// latencies and paced streams stop by aborting their connection, and so do
// later ones. Close does not stop an http.Server serving s; it lets that
// server's own Close or Shutdown finish promptly.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// ServeHTTP routes r and answers it, applying latency and faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seq := s.requests.Add(1)
	h := w.Header()
	h["X-Mock-Name"] = s.nameHeader
	h["X-Request-Id"] = []string{s.requestID(seq)}

	rt, allow, ok := parseRoute(r.Method, r.URL.Path)
	if !ok && allow != "" {
		w.Header()["Allow"] = []string{allow}
		writeError(w, http.StatusMethodNotAllowed, "Invalid method "+r.Method+" for "+r.URL.Path+"; use "+allow+".", "invalid_request_error", "", "")
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error", "", "")
		return
	}
	if rt.ep == epImageFile {
		serveImageFile(w, rt.id)
		return
	}
	apiVersion, ok := queryValue(r.URL.RawQuery, "api-version")
	if rt.shape.needsAPIVersion() && (!ok || apiVersion == "") {
		writeJSONString(w, http.StatusBadRequest, MissingAPIVersionBody)
		return
	}
	if !s.authorized(r) {
		writeJSONString(w, http.StatusUnauthorized, Azure401Body)
		return
	}

	// Handlers are called through the ops table, so the call would escape
	// to the heap on every request; a pool keeps the hot path free of
	// that allocation.
	c := callPool.Get().(*call)
	*c = call{s: s, w: w, r: r, route: rt, seq: seq, tps: s.tps, abortAfter: -1, apiVersion: apiVersion}
	defer func() {
		*c = call{}
		callPool.Put(c)
	}()
	if r.Method == http.MethodPost {
		bp := getBuf()
		defer putBuf(bp)
		if !c.readRequest(bp) {
			return
		}
	}
	fault, slowTPS := s.pickFault()
	if s.latency > 0 && !c.sleep(s.latency) {
		return
	}
	if slowTPS > 0 {
		c.tps, c.slow = slowTPS, true
	}
	if fault != nil {
		switch fault.Kind {
		case FaultStatus:
			if apiVersion == "" {
				apiVersion = defaultAPIVersion
			}
			writeStatusFault(w, fault, rt, apiVersion)
			return
		case FaultHang:
			select {
			case <-r.Context().Done():
			case <-s.done:
				panic(http.ErrAbortHandler)
			}
			return
		case FaultReset:
			abort(w, false)
			return
		case FaultResetMidStream:
			c.abortAfter = fault.After
		}
	}

	ops[rt.ep].serve(c)
}

// authorized accepts the request's api-key or bearer token.
func (s *Server) authorized(r *http.Request) bool {
	if s.requireKey == nil {
		return true
	}
	if k := r.Header.Get("Api-Key"); k != "" && subtle.ConstantTimeCompare([]byte(k), s.requireKey) == 1 {
		return true
	}
	a := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(a) > len(prefix) && strings.EqualFold(a[:len(prefix)], prefix) {
		return subtle.ConstantTimeCompare([]byte(a[len(prefix):]), s.requireKey) == 1
	}
	return false
}

// pickFault rolls the dice for each fault in order. It returns the first
// terminal fault that hits, if any, and the pace of the first slow fault
// that hit before it (0 if none).
func (s *Server) pickFault() (*Fault, float64) {
	fs := s.faults.Load()
	if fs == nil {
		return nil, 0
	}
	var tps float64
	for i := range *fs {
		f := &(*fs)[i]
		if !s.roll(f.probability()) {
			continue
		}
		if f.Kind == FaultSlow {
			if tps == 0 {
				tps = f.slowTPS()
			}
			continue
		}
		return f, tps
	}
	return nil, tps
}

// roll reports whether an event of probability p happens. Certain events
// draw no number, so adding an always-on fault does not shift the dice of
// the others.
func (s *Server) roll(p float64) bool {
	if p >= 1 {
		return true
	}
	s.rngMu.Lock()
	x := s.rng.Float64()
	s.rngMu.Unlock()
	return x < p
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// call is one routed request being answered.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	route route
	seq   int64
	// tps paces the answer: streams always, non-streaming answers when
	// slow is set by a slow fault.
	tps  float64
	slow bool
	// abortAfter is the number of stream events to send before resetting
	// the connection; -1 means no reset.
	abortAfter int
	// body is the request body, read before faults and latency apply.
	body []byte
	// apiVersion is the request's api-version query parameter, if any.
	apiVersion string
}

// sleep waits d. It returns false if the client went away; if the Server
// was closed it aborts the connection.
func (c *call) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	case <-c.s.done:
		panic(http.ErrAbortHandler)
	}
}

// appendID appends `"id":"<prefix><name>-<seq>"`.
func (c *call) appendID(b []byte, prefix string) []byte {
	b = append(b, `"id":"`...)
	b = append(b, prefix...)
	b = append(b, c.s.nameJSON...)
	b = append(b, '-')
	b = strconv.AppendInt(b, c.seq, 10)
	return append(b, '"')
}

// appendFingerprint appends `"system_fingerprint":"fp_<name>"`.
func (c *call) appendFingerprint(b []byte) []byte {
	b = append(b, `"system_fingerprint":"fp_`...)
	b = append(b, c.s.nameJSON...)
	return append(b, '"')
}

// readRequest reads the whole request body into *bp and c.body, before
// any latency or fault, as a real upstream does. This also lets net/http
// notice a client that leaves while we wait: it only watches the
// connection once the body is consumed. On failure it has written the
// error response and returns false.
func (c *call) readRequest(bp *[]byte) bool {
	b, err := readAll((*bp)[:0], c.r.Body, c.r.ContentLength, maxRequestBody)
	*bp = b
	switch {
	case errors.Is(err, errTooLarge):
		c.w.Header()["Connection"] = []string{"close"}
		writeJSONString(c.w, http.StatusRequestEntityTooLarge, tooLargeBody)
		return false
	case err != nil:
		badRequest(c.w, "Could not read the request body: "+err.Error(), "", "")
		return false
	}
	c.body = b
	return true
}

// readBody decodes the JSON request body into v. On failure it has
// written the error response and returns false.
func (c *call) readBody(v any) bool {
	err := json.Unmarshal(c.body, v)
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	var ie *invalidFieldError
	switch {
	case errors.As(err, &ie):
		code := ie.code
		if code == "" {
			code = "invalid_type"
		}
		badRequest(c.w, ie.Error(), ie.field, code)
	case errors.As(err, &te) && te.Field != "":
		badRequest(c.w, "Invalid type for '"+te.Field+"': expected "+te.Type.String()+", got "+te.Value+".", te.Field, "invalid_type")
	default:
		writeJSONString(c.w, http.StatusBadRequest, invalidJSONBody)
	}
	return false
}

var errTooLarge = errors.New("request body too large")

// readAll reads r to the end into b, growing it once when the length n is
// known. It reads at most limit bytes, then fails with errTooLarge.
func readAll(b []byte, r io.Reader, n, limit int64) ([]byte, error) {
	if n > 0 && n <= limit && int(n) > cap(b)-len(b) {
		b = slices.Grow(b, int(n)+1) // +1 so the final read sees EOF without growing
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 1)
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if int64(len(b)) > limit {
			return b, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// writeBody writes a complete 200 JSON answer, or half of it when a
// reset-mid-stream fault hit.
func (c *call) writeBody(b []byte) {
	if c.abortAfter < 0 {
		writeJSON(c.w, http.StatusOK, b)
		return
	}
	c.writeBodyAs(jsonContentType, b)
}

// writeBodyAs writes a complete 200 answer of the given Content-Type, or
// half of it when a reset-mid-stream fault hit.
func (c *call) writeBodyAs(contentType []string, b []byte) {
	h := c.w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	c.w.WriteHeader(http.StatusOK)
	if c.abortAfter < 0 {
		_, _ = c.w.Write(b)
		return
	}
	_, _ = c.w.Write(b[:len(b)/2])
	abort(c.w, true)
}

// abort ends the response by resetting the TCP connection (RST, not FIN),
// after flushing what was written when flush is set. Where the connection
// cannot be hijacked (HTTP/2, recorders) it panics with
// http.ErrAbortHandler, which makes net/http abort the response.
func abort(w http.ResponseWriter, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	for {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
			break
		}
		// Unwrap TLS and similar wrappers, and close the raw connection so
		// no close_notify goes out either.
		nc, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		conn = nc.NetConn()
	}
	_ = conn.Close()
}

// generationDelay is how long a slow fault makes a non-streaming answer of
// n tokens take.
func (c *call) generationDelay(n int) time.Duration {
	if !c.slow || c.tps <= 0 {
		return 0
	}
	return time.Duration(float64(n) / c.tps * float64(time.Second))
}

// invalidFieldError is a request field of the wrong shape, reported by the
// custom decoders of union-typed fields.
type invalidFieldError struct {
	field, msg string
	code       string // default invalid_type
}

func (e *invalidFieldError) Error() string { return e.msg }

// requestID names a request as OpenAI's x-request-id does: "req_" and
// 32 lowercase hex digits, here the server's salt and the request's
// number, so that ids differ between requests and between servers.
func (s *Server) requestID(seq int64) string {
	var b [4 + 32]byte
	var n [8]byte
	copy(b[:], s.idPrefix[:])
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	hex.Encode(b[20:], n[:])
	return string(b[:])
}
