package mock

import (
	"errors"
	"net/http"
	"time"
)

// errStopped ends a stream when the Server is closed.
var errStopped = errors.New("mock: server closed")

// stream sends answer a as server-sent events, the way OpenAI does: for
// chat a role chunk first, then one chunk per token, a chunk with the
// finish_reason, the usage chunk if asked, and [DONE].
func (c *call) stream(chat bool, model string, a answer, prompt int, includeUsage bool) {
	h := c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	c.w.WriteHeader(http.StatusOK)

	pp := getBuf()
	defer putBuf(pp)
	prefix := append((*pp)[:0], "data: {"...)
	object := `,"object":"text_completion",`
	if chat {
		prefix = c.appendID(prefix, "chatcmpl-")
		object = `,"object":"chat.completion.chunk",`
	} else {
		prefix = c.appendID(prefix, "cmpl-")
	}
	prefix = append(prefix, object...)
	prefix = appendKInt(prefix, "created", time.Now().Unix())
	prefix = append(prefix, ',')
	prefix = appendKV(prefix, "model", model)
	prefix = append(prefix, ',')
	prefix = c.appendFingerprint(prefix)
	prefix = append(prefix, `,"choices":[`...)
	*pp = prefix
	suffix := "]}\n\n"
	if includeUsage {
		// OpenAI sends "usage":null in every chunk but the last when usage
		// was asked for.
		suffix = "],\"usage\":null}\n\n"
	}

	bp := getBuf()
	defer putBuf(bp)
	sw := sseWriter{c: c, rc: http.NewResponseController(c.w), buf: bp, prefix: prefix, suffix: suffix}
	if c.abortAfter == 0 {
		_ = sw.rc.Flush()
		abort(c.w, true)
		return
	}

	if chat && !sw.event(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`, "", false) {
		return
	}
	p := newPacer(c.tps)
	for i := range a.n {
		if err := p.wait(c); err != nil {
			if errors.Is(err, errStopped) {
				abort(c.w, true)
			}
			return
		}
		tok, period := a.token(i)
		var ok bool
		if chat {
			ok = sw.token(`{"index":0,"delta":{"content":"`, tok, period, `"},"logprobs":null,"finish_reason":null}`)
		} else {
			ok = sw.token(`{"text":"`, tok, period, `","index":0,"logprobs":null,"finish_reason":null}`)
		}
		if !ok {
			return
		}
	}
	var ok bool
	if chat {
		ok = sw.event(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"`, a.finish, true)
	} else {
		ok = sw.event(`{"text":"","index":0,"logprobs":null,"finish_reason":"`, a.finish, true)
	}
	if !ok {
		return
	}
	if includeUsage {
		b := append((*bp)[:0], prefix...)
		b = append(b, "],"...)
		b = appendUsage(b, prompt, a.n)
		b = append(b, "}\n\n"...)
		*bp = b
		if !sw.write(b) {
			return
		}
	}
	if c.abortAfter > 0 {
		// The stream was shorter than the fault's budget: break it rather
		// than end it cleanly.
		abort(c.w, true)
		return
	}
	_, _ = c.w.Write([]byte("data: [DONE]\n\n"))
	_ = sw.rc.Flush()
}

// sseWriter writes the events of one stream, flushing each, and resets the
// connection once the reset-mid-stream budget is spent.
type sseWriter struct {
	c      *call
	rc     *http.ResponseController
	buf    *[]byte
	prefix []byte
	suffix string
	sent   int
}

// event writes prefix + choice (+ quoted finish + `"}`) + suffix.
func (sw *sseWriter) event(choice, finish string, closeFinish bool) bool {
	b := append((*sw.buf)[:0], sw.prefix...)
	b = append(b, choice...)
	if closeFinish {
		b = append(b, finish...)
		b = append(b, `"}`...)
	}
	b = append(b, sw.suffix...)
	*sw.buf = b
	return sw.write(b)
}

// token writes one content chunk; tok is plain ASCII, valid JSON as is.
func (sw *sseWriter) token(head, tok string, period bool, tail string) bool {
	b := append((*sw.buf)[:0], sw.prefix...)
	b = append(b, head...)
	b = append(b, tok...)
	if period {
		b = append(b, '.')
	}
	b = append(b, tail...)
	b = append(b, sw.suffix...)
	*sw.buf = b
	return sw.write(b)
}

// write sends one event and flushes it. It returns false when the stream
// must stop: the client is gone, or the connection was reset on purpose.
func (sw *sseWriter) write(b []byte) bool {
	if _, err := sw.c.w.Write(b); err != nil {
		return false
	}
	if err := sw.rc.Flush(); err != nil {
		return false
	}
	sw.sent++
	if sw.c.abortAfter > 0 && sw.sent >= sw.c.abortAfter {
		abort(sw.c.w, true)
		return false
	}
	return true
}

// wait paces the next event with p. It returns false when the stream must
// stop: the client is gone, or the server closed (then the connection is
// reset).
func (sw *sseWriter) wait(p *pacer) bool {
	if err := p.wait(sw.c); err != nil {
		if errors.Is(err, errStopped) {
			abort(sw.c.w, true)
		}
		return false
	}
	return true
}

// pacer spaces events 1/tps apart, measured from the start so that slow
// writes do not accumulate drift.
type pacer struct {
	interval time.Duration
	next     time.Time
	timer    *time.Timer
}

func newPacer(tps float64) pacer {
	if tps <= 0 {
		return pacer{}
	}
	return pacer{interval: time.Duration(float64(time.Second) / tps), next: time.Now()}
}

// wait blocks until the next event is due, the client leaves (its context
// error) or the server closes (errStopped).
func (p *pacer) wait(c *call) error {
	if p.interval <= 0 {
		return nil
	}
	p.next = p.next.Add(p.interval)
	d := time.Until(p.next)
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-c.r.Context().Done():
		return c.r.Context().Err()
	case <-c.s.done:
		return errStopped
	}
}
