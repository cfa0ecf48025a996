package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/router"
)

// session is one Realtime WebSocket, relayed between a client and the
// upstream picked at connect. Two goroutines copy frames, one each way,
// a message at a time through a fixed buffer: a slow reader stops the
// copy, which stops reading from the writer's side, so backpressure
// reaches the sender and memory stays bounded. The handler's goroutine
// owns both and waits for them.
type session struct {
	g      *Gateway
	req    *exchange
	client *websocket.Conn
	up     *websocket.Conn
	pick   router.Pick
	slot   *access.Slot
	// priceModel names the model the session's usage is priced by.
	priceModel string
	// responses counts the response.done events charged, responseStart
	// is when the latest response.created passed; only the upstream
	// goroutine touches them while the session runs.
	responses     int
	responseStart time.Time
	// cut is closed when shutdown ends the session.
	cut     chan struct{}
	cutOnce sync.Once
}

// side is where a relay stopped.
type side uint8

const (
	sideClient side = iota + 1
	sideUpstream
	sideGateway // shutdown
)

// ending is why a relay direction stopped: which side failed or closed,
// its error, and, when the gateway ends the session for the key's limits,
// the refusal.
type ending struct {
	side side
	err  error
	over error
}

func (g *Gateway) newSession(req *exchange, client, up *websocket.Conn, pick router.Pick, slot *access.Slot) *session {
	client.SetReadLimit(maxRealtimeMessage)
	return &session{
		g: g, req: req, client: client, up: up, pick: pick, slot: slot,
		priceModel: g.priceModel(pick.Deployment, req.model),
		cut:        make(chan struct{}),
	}
}

// run relays until either side closes, the key runs out, or shutdown
// cuts the session; then it closes both sides with a close code that says
// why and records the session.
func (s *session) run() {
	g := s.g
	g.sessions.add(s)
	defer g.sessions.remove(s)
	// The relay's reads and writes take a context that is never done:
	// the WebSocket library arms a timer per frame for one that can be,
	// and the pumps end anyway when the connections are closed below.
	ctx := context.WithoutCancel(s.req.r.Context())
	ends := make(chan ending, 2)
	go func() { ends <- s.fromUpstream(ctx) }()
	go func() { ends <- s.fromClient(ctx) }()
	var renew <-chan time.Time
	if s.slot != nil {
		t := time.NewTicker(s.slot.RenewIn())
		defer t.Stop()
		renew = t.C
	}
	var first ending
	pending := 2
wait:
	for {
		select {
		case first = <-ends:
			pending--
			break wait
		case <-renew:
			s.slot.Renew(ctx)
		case <-s.cut:
			first = ending{side: sideGateway, err: errCut}
			break wait
		}
	}
	status := s.finish(ctx, first)
	s.client.CloseNow()
	s.up.CloseNow()
	for ; pending > 0; pending-- {
		<-ends
	}
	// The slot is free before the record says the session ended.
	s.slot.Close(context.Background())
	s.req.res.status = status
	g.record(s.req, s.req.res, status)
}

// finish closes both sides after the relay stopped at first, and returns
// the status recorded for the session: 200 for a close by either side,
// 499 when the client dropped, 502 when the upstream dropped or failed,
// 429 when the key's limits closed it, 503 at shutdown. It takes at most
// closeTimeout for the error event and as long again for the two closes,
// made at once: a peer that no longer reads cannot hold the session's
// record back (shutdown waits only so long for it).
func (s *session) finish(ctx context.Context, first ending) int {
	code := websocket.CloseStatus(first.err)
	reason := closeReason(closeText(first.err))
	var client, up closing // zero: that side has closed already
	status := http.StatusOK
	switch {
	case first.over != nil:
		s.sendError(ctx, "rate_limit_error", limitCode(first.over), first.over.Error())
		client = closing{websocket.StatusPolicyViolation, closeReason(first.over.Error())}
		up = closing{websocket.StatusNormalClosure, ""}
		status = http.StatusTooManyRequests
	case first.side == sideGateway:
		s.sendError(ctx, "server_error", "gateway_shutdown", "the gateway is shutting down; reconnect to start a new session")
		client = closing{websocket.StatusGoingAway, "gateway shutting down; reconnect"}
		up = closing{websocket.StatusGoingAway, ""}
		status = http.StatusServiceUnavailable
	case first.side == sideClient && code != -1:
		up = closing{code, reason}
	case first.side == sideClient:
		up = closing{websocket.StatusGoingAway, "client disconnected"}
		status = statusClientClosed
	case code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway:
		client = closing{code, reason}
	case code != -1:
		client = closing{code, reason}
		status = http.StatusBadGateway
	default:
		s.sendError(ctx, "server_error", "upstream_disconnected", "the upstream of "+s.req.model+" dropped the connection; reconnect to start a new session")
		client = closing{websocket.StatusBadGateway, "upstream connection lost"}
		status = http.StatusBadGateway
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		conn *websocket.Conn
		how  closing
	}{{s.client, client}, {s.up, up}} {
		if c.how.code == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			closeWithin(c.conn, c.how, closeTimeout)
		}()
	}
	wg.Wait()
	return status
}

// closing is a close code and reason to send.
type closing struct {
	code   websocket.StatusCode
	reason string
}

// closeWithin closes c with the close handshake, or, when the peer has
// not answered within d, at once.
func closeWithin(c *websocket.Conn, how closing, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Close(how.code, how.reason)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.CloseNow()
		<-done
	}
}

// fromUpstream relays the upstream's messages to the client, and charges
// each response.done as it passes.
func (s *session) fromUpstream(ctx context.Context) ending {
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	var kept []byte
	for {
		typ, r, err := s.up.Reader(ctx)
		if err != nil {
			return ending{side: sideUpstream, err: err}
		}
		w, err := s.client.Writer(ctx, typ)
		if err != nil {
			return ending{side: sideClient, err: err}
		}
		// The first bytes of a text message are kept to see its type; a
		// response.done is kept whole, for its usage.
		watch, done := typ == websocket.MessageText, false
		kept = kept[:0]
		if at, err := relayMessage(w, r, *bufp, func(p []byte) {
			if !watch {
				return
			}
			if !done {
				n := min(len(p), typeWindow-len(kept))
				kept, p = append(kept, p[:n]...), p[n:]
				if len(kept) < typeWindow {
					return
				}
				if done = bytes.Contains(kept, eventResponseDone); !done {
					s.started(kept)
					watch = false
					return
				}
			}
			kept = append(kept, p...)
		}); err != nil {
			return ending{side: at, err: err}
		}
		if watch && !done {
			// Shorter than the window.
			if done = bytes.Contains(kept, eventResponseDone); !done {
				s.started(kept)
			}
		}
		if done {
			if over := s.charge(ctx, kept); over != nil {
				return ending{side: sideUpstream, over: over}
			}
		}
		if cap(kept) > maxKeptMessage {
			kept = nil
		}
	}
}

// fromClient relays the client's messages upstream unchanged; what they
// say is the upstream's to judge (it answers garbage with error events).
func (s *session) fromClient(ctx context.Context) ending {
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	for {
		typ, r, err := s.client.Reader(ctx)
		if err != nil {
			return ending{side: sideClient, err: err}
		}
		w, err := s.up.Writer(ctx, typ)
		if err != nil {
			return ending{side: sideUpstream, err: err}
		}
		if at, err := relayMessage(w, r, *bufp, nil); err != nil {
			// relayMessage reads the client here and writes the upstream.
			if at == sideUpstream {
				at = sideClient
			} else {
				at = sideUpstream
			}
			return ending{side: at, err: err}
		}
	}
}

// typeWindow is how much of a text message is looked at for its type;
// OpenAI puts "type" first.
const typeWindow = 256

// maxKeptMessage bounds the buffer kept between messages; a larger
// response.done gets a fresh one next time.
const maxKeptMessage = 1 << 20

var (
	eventResponseDone    = []byte(`"response.done"`)
	eventResponseCreated = []byte(`"response.created"`)
)

// started notes when a response began, from the head of a
// response.created event, for the latency of its usage record.
func (s *session) started(head []byte) {
	if bytes.Contains(head, eventResponseCreated) {
		s.responseStart = time.Now()
	}
}

// relayMessage copies one message from r (the reading side) to w through
// buf, calling seen with each chunk, and closes w. It names the side that
// failed as if r were the upstream and w the client: sideUpstream for a
// read error, sideClient for a write error.
func relayMessage(w io.WriteCloser, r io.Reader, buf []byte, seen func([]byte)) (side, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if seen != nil {
				seen(buf[:n])
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return sideClient, werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sideUpstream, err
		}
	}
	if err := w.Close(); err != nil {
		return sideClient, err
	}
	return 0, nil
}

// sendError sends the client a Realtime error event, which the SDKs
// surface, before the gateway closes the session.
func (s *session) sendError(ctx context.Context, typ, code, msg string) {
	b := make([]byte, 0, 160+len(msg))
	b = append(b, `{"type":"error","event_id":"event_`...)
	b = append(b, s.req.id...)
	b = append(b, `","error":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","code":"`...)
	b = append(b, code...)
	b = append(b, `","message":`...)
	q, _ := json.Marshal(msg) // a string always marshals
	b = append(b, q...)
	b = append(b, `,"param":null,"event_id":null}}`...)
	wctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	_ = s.client.Write(wctx, websocket.MessageText, b)
}

// closeTimeout bounds the final error event to a client that no longer
// reads, and each close handshake.
const closeTimeout = 2 * time.Second

// closeReason fits a close reason in a control frame: 123 bytes.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut]
}

// closeText is the reason of a received close frame.
func closeText(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

// sessions tracks the live Realtime sessions, so shutdown can end them.
type sessions struct {
	mu      sync.Mutex
	live    map[*session]struct{}
	cutting bool
}

func (ss *sessions) add(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cutting {
		s.end()
		return
	}
	if ss.live == nil {
		ss.live = make(map[*session]struct{})
	}
	ss.live[s] = struct{}{}
}

func (ss *sessions) remove(s *session) {
	ss.mu.Lock()
	delete(ss.live, s)
	ss.mu.Unlock()
}

// cut ends every live session, and any that starts from now on; each
// closes both sides and records itself in its own goroutine. It returns
// how many it ended.
func (ss *sessions) cut() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.cutting = true
	for s := range ss.live {
		s.end()
	}
	return len(ss.live)
}

func (s *session) end() { s.cutOnce.Do(func() { close(s.cut) }) }
