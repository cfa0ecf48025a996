package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
)

// hopHeaders are connection-level headers never copied between hops.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// connectionListed returns the headers the upstream's Connection header
// names beyond hopHeaders, in canonical form: they belong to that hop
// alone (RFC 9110 7.6.1). Nil for the usual "keep-alive" or "close".
func connectionListed(h http.Header) []string {
	var names []string
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			f = textproto.TrimString(f)
			if f == "" || slices.ContainsFunc(hopHeaders, func(k string) bool { return strings.EqualFold(k, f) }) {
				continue
			}
			names = append(names, textproto.CanonicalMIMEHeaderKey(f))
		}
	}
	return names
}

// respond starts sending the chosen upstream answer to the client: its
// status and headers, and the meter that will watch its body. The body
// goes out in sendBody, which the handler calls once serve has returned.
func (g *Gateway) respond(req *exchange, pick router.Pick, up *upstream, o router.Outcome) error {
	if req.op == provider.ImagesSubmit || req.op == provider.ImageOperation {
		return g.respondOperation(req, pick, up, o)
	}
	if answersObject(req.op) {
		return g.respondObject(req, pick, up, o)
	}
	w, res := req.w, &req.res
	h := g.answerHeader(req, pick, up)
	ct := up.resp.Header.Get("Content-Type")
	stream := req.peek.Stream || isEventStream(ct)
	req.meter = meter{stream: stream, flush: stream || strings.HasPrefix(ct, "audio/"), strip: up.injected && !req.peek.IncludeUsage, keepBody: g.logsPayloads(req)}
	m := &req.meter
	m.ids = g.newIDRewriter(req, pick.ID(), res.status)
	res.meter = m
	if m.strip || m.ids != nil {
		// The body shrinks by the usage event the client did not ask for,
		// or its ids change length.
		delete(h, "Content-Length")
	}
	if stream {
		// Nothing reads the upstream's header map once answerHeader has
		// copied its values, and a held stream would keep it (a map of
		// a dozen entries from Azure) for minutes.
		up.resp.Header = nil
		req.keepSentBody(up.injected, m.keepBody)
	}
	w.WriteHeader(res.status)
	res.ttfb = time.Since(req.start)
	// The body is sent by sendBody, from Gateway.serveOp: see there why.
	req.answer, up.outcome = up, o
	return nil
}

// keepSentBody keeps one copy of the request body for a held stream, not
// two: the transport holds the body it sent until the stream ends, and
// usageBody differs from body only by stream_options, which the prompt
// estimate does not read. Only a logged prompt needs the client's own.
func (req *exchange) keepSentBody(injected, logged bool) {
	switch {
	case !injected:
		req.usageBody = nil
	case !logged:
		req.body = req.usageBody
	}
}

// sendBody sends the rest of the answer respond started: the bytes already
// read, then the rest of the body, flushed chunk by chunk when it is a
// stream. It reports the attempt's final outcome to the router and
// releases the attempt.
func (g *Gateway) sendBody(req *exchange) error {
	up, m := req.answer, req.res.meter
	req.answer = nil
	defer up.close()
	if m.stream {
		g.streams.add(up)
		defer g.streams.remove(up)
	}
	written, readErr, writeErr := copyBody(req.w, up, m)
	return g.sent(req, up, written, readErr, writeErr)
}

// sent settles an answer sendBody sent, or failed to: the attempt's span
// and outcome, and the in-band error event of a stream that broke. It is
// kept out of sendBody, whose frame is under every held stream.
//
//go:noinline
func (g *Gateway) sent(req *exchange, up *upstream, written int64, readErr, writeErr error) error {
	r, m, pick, o := req.r, req.res.meter, req.res.pick, up.outcome
	if up.span != nil {
		up.endSpan(o, readErr)
	}
	switch {
	case writeErr != nil || (readErr != nil && r.Context().Err() != nil):
		g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
		return errClientGone
	case errors.Is(readErr, errCut):
		// Not the deployment's fault: it was still answering.
		g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
		g.log.Warn("stream cut at shutdown", "request_id", req.id, "model", req.model, "deployment", pick.ID(), "bytes", written)
		if m.stream {
			g.writeStreamError(req, m, "the gateway is shutting down; the stream was cut after "+strconv.FormatInt(written, 10)+" bytes and the answer is incomplete; send the request again")
		}
		return errAbort
	case readErr != nil:
		fail := router.ClassifyError(r.Context(), readErr)
		g.router.Report(pick, fail, up.latency)
		if m.stream && written > 0 {
			reason := fail.Reason
			if errors.Is(readErr, errIdleTimeout) {
				reason = "idle timeout: no data from the upstream for " + g.idle.String()
			}
			g.writeStreamError(req, m, "the upstream stream broke after "+strconv.FormatInt(written, 10)+" bytes ("+reason+"); the answer is incomplete")
		}
		return errAbort
	}
	g.router.Report(pick, o, up.latency)
	return nil
}

// writeStreamError ends a stream with the in-band error event of its API.
func (g *Gateway) writeStreamError(req *exchange, m *meter, msg string) {
	if req.spec.Events {
		// The Responses API's own event format.
		_, _ = req.w.Write(responsesErrorEvent(msg, int(m.events)))
	} else {
		_, _ = req.w.Write(streamErrorEvent(msg))
	}
	flush(req.w)
}

// upstreamRateHeaders are the upstream's x-ratelimit-* headers, replaced
// by the caller's own when its key has limits.
var upstreamRateHeaders = []string{
	"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
	"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens",
}

// answerHeader puts the upstream answer's end-to-end headers and the
// gateway's own on w, and records in res what the client gets.
func (g *Gateway) answerHeader(req *exchange, pick router.Pick, up *upstream) http.Header {
	h, res := req.w.Header(), &req.res
	// A caller with limits keeps its own x-ratelimit-* headers (admit
	// wrote them), not the deployment's, which every caller shares.
	own := req.grant.Limits.Any()
	listed := connectionListed(up.resp.Header)
	for k, v := range up.resp.Header {
		if own && slices.Contains(upstreamRateHeaders, k) {
			continue
		}
		if k == "X-Request-Id" {
			continue // below
		}
		if slices.Contains(hopHeaders, k) || slices.Contains(listed, k) {
			// Left out here rather than deleted from h after: h holds
			// none of its own, and with a caller's x-ratelimit-* headers
			// it is past 8 entries, where each delete hashes its key.
			continue
		}
		h[k] = v
	}
	if v, ok := up.resp.Header["X-Request-Id"]; ok {
		// OpenAI and Azure name their own request id so; the client's
		// X-Request-Id stays the gateway's (its usage record's), the
		// upstream's goes beside it, over any the upstream passed on.
		h["X-Upstream-Request-Id"] = v
	}
	h["X-Spillway-Deployment"] = pick.IDHeader()
	h["X-Spillway-Attempts"] = attemptsHeader(res.attempts)
	res.status = up.resp.StatusCode
	res.deployment, res.pick = pick.ID(), pick
	res.priceModel = g.priceModel(pick.Deployment, req.model)
	return h
}

// attemptsHeaders are the X-Spillway-Attempts values of the usual counts,
// shared by every answer (header values are never modified in place).
var attemptsHeaders = func() (t [8][]string) {
	for i := range t {
		t[i] = []string{strconv.Itoa(i)}
	}
	return t
}()

// attemptsHeader returns n as a header value.
func attemptsHeader(n int) []string {
	if n >= 0 && n < len(attemptsHeaders) {
		return attemptsHeaders[n][:1:1]
	}
	return []string{strconv.Itoa(n)}
}

// copyBody writes the bytes read so far, then the rest of the body,
// through the meter; a stream is flushed after every read, and waits for
// its next bytes without its buffer (upstream.next).
func copyBody(w http.ResponseWriter, up *upstream, m *meter) (written int64, readErr, writeErr error) {
	buf := *up.bufp
	chunk := up.head
	src := up.body()
	waits := m.stream && isStreamBuf(buf)
	if up.whole && !m.stream {
		// The answer was read to its end (attempt): it goes out in one
		// write, and the meter reads it where it is, in the attempt's
		// buffer, not copied, since nothing is read into that buffer
		// before finish (meter.last).
		m.last = true
		if len(chunk) > 0 {
			n, err := m.write(w, chunk)
			written += int64(n)
			if err != nil {
				m.tail, m.held = nil, nil
				return written, nil, err
			}
		}
		k, err := m.finish(w)
		return written + int64(k), nil, err
	}
	for {
		if len(chunk) > 0 {
			n, err := m.write(w, chunk)
			written += int64(n)
			if err != nil {
				return written, nil, err
			}
			if m.flush {
				flush(w)
			}
		}
		var err error
		if waits {
			chunk, err = up.next(m)
		} else {
			var n int
			n, err = src.Read(buf)
			chunk = buf[:n]
		}
		if err == nil {
			continue
		}
		if len(chunk) > 0 {
			k, werr := m.write(w, chunk)
			written += int64(k)
			if werr != nil {
				return written, nil, werr
			}
		}
		if !errors.Is(err, io.EOF) {
			return written, err, nil
		}
		k, werr := m.finish(w)
		written += int64(k)
		return written, nil, werr
	}
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func isEventStream(ct string) bool {
	return len(ct) >= len("text/event-stream") && strings.EqualFold(ct[:len("text/event-stream")], "text/event-stream")
}
