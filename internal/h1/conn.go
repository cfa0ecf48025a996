package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one upstream connection. Between exchanges it sits in the pool;
// during one it belongs to the caller of RoundTrip, then to the reader of
// the response's body, until the body ends or is closed.
type conn struct {
	t    *Transport
	addr string
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// read counts the bytes read from nc: an exchange that failed having
	// read none of its response may go again. While the headers are read,
	// headLimit is where the counter stops (maxHeaderBytes on).
	read, headLimit int64
	// reused is set once the connection has carried an exchange. A
	// failure on a reused one before any byte of the response is the
	// upstream having closed it while it was idle: replay is then set,
	// and the request may go again on another connection.
	reused, replay bool
	// stop unregisters closeFn from the exchange's context; closeFn
	// (nc.Close, bound once) runs when that context ends first.
	stop    func() bool
	closeFn func()
	// plain is nc with none of its optional methods, for io.CopyBuffer.
	plain io.Writer
	// idleGen is the pool's sweep generation when the connection went
	// idle.
	idleGen uint64
	// live checks it as it leaves the pool.
	live liveness
	// src reads the request's body as it is written (writeRequest).
	src bodyReader
}

func newConn(t *Transport, addr string, nc net.Conn) *conn {
	c := &conn{t: t, addr: addr, nc: nc}
	c.br = bufio.NewReaderSize(counter{c}, sizeOr(t.ReadBufferSize, 4<<10))
	c.bw = bufio.NewWriterSize(writer{c}, sizeOr(t.WriteBufferSize, 4<<10))
	c.plain = struct{ io.Writer }{nc}
	c.closeFn = c.close
	c.live.init(nc)
	return c
}

func sizeOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func (c *conn) close() { c.nc.Close() }

// counter counts what the connection's reader takes from it.
type counter struct{ c *conn }

func (r counter) Read(p []byte) (int, error) {
	if r.c.headLimit > 0 && r.c.read >= r.c.headLimit {
		return 0, errHeadersTooLarge
	}
	n, err := r.c.nc.Read(p)
	r.c.read += int64(n)
	return n, err
}

// maxHeaderBytes bounds what the response's headers, interim responses'
// included, may take from the connection: net/http's default
// (Transport.MaxResponseHeaderBytes).
const maxHeaderBytes = 10 << 20

var errHeadersTooLarge = errors.New("h1: upstream response headers exceeded 10 MiB")

// writer is the connection under its write buffer. A body longer than
// what the buffer has room for after the headers is copied to it by
// ReadFrom, in one write per 32 KiB through a pooled buffer: without it
// the buffer would send it a write per buffer's size (512 bytes in the
// gateway), and io.Copy would allocate a buffer of its own per request.
type writer struct{ c *conn }

func (w writer) Write(p []byte) (int, error) { return w.c.nc.Write(p) }

func (w writer) ReadFrom(r io.Reader) (int64, error) {
	bp := copyPool.Get().(*[]byte)
	n, err := io.CopyBuffer(w.c.plain, r, *bp)
	copyPool.Put(bp)
	return n, err
}

var copyPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// roundTrip writes r and reads its response's headers. On an error the
// connection is closed, and replay says whether r may go again.
func (c *conn) roundTrip(ctx context.Context, r *http.Request) (*http.Response, error) {
	reused := c.reused
	c.reused, c.replay = true, false
	c.stop = context.AfterFunc(ctx, c.closeFn)
	start := c.read
	err := writeRequest(c.bw, r, &c.src)
	if err == nil {
		err = c.bw.Flush()
	}
	var resp *http.Response
	if err == nil {
		resp, err = c.readResponse(r)
	}
	if err != nil {
		c.stop()
		c.close()
		c.replay = reused && c.read == start && broke(err)
		return nil, failure(ctx, err)
	}
	if reused && resp.StatusCode == http.StatusRequestTimeout {
		// What some servers send on a connection they time out while
		// idle, before closing it: net/http takes it for the close it
		// is, and so does this.
		c.stop()
		c.close()
		c.replay = true
		return nil, errIdleTimedOut
	}
	keep := !resp.Close && !r.Close
	if resp.Body == http.NoBody {
		c.done(keep)
		return resp, nil
	}
	resp.Body = &body{c: c, rc: resp.Body, ctx: ctx, keep: keep}
	return resp, nil
}

// broke reports whether err is the connection's end: the upstream closed
// or reset it. Only that makes a request safe to send again when none of
// its answer came back; a timeout or an error of the request's own (its
// body) is not the connection's doing.
func broke(err error) bool {
	var body bodyReadError
	if errors.As(err, &body) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// errIdleTimedOut is a 408 on a reused connection.
var errIdleTimedOut = errors.New("h1: upstream timed out the kept-alive connection (408)")

// errSwitched is a 101 to a request that asked for no upgrade.
var errSwitched = errors.New("h1: upstream switched protocols unasked")

// readResponse reads the response's headers, past any interim (1xx)
// ones, under the first-byte timeout.
func (c *conn) readResponse(r *http.Request) (*http.Response, error) {
	d := c.t.FirstByteTimeout
	if d > 0 {
		if err := c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
			return nil, err
		}
	}
	c.headLimit = c.read + maxHeaderBytes
	resp, err := http.ReadResponse(c.br, r)
	for err == nil && resp.StatusCode < 200 {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			err = errSwitched
			break
		}
		resp, err = http.ReadResponse(c.br, r)
	}
	c.headLimit = 0
	if d > 0 {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, timeoutError{}
		}
		if err == nil {
			err = c.nc.SetReadDeadline(time.Time{})
		}
	}
	return resp, err
}

// failure is err as the caller sees it: the context's cause when it ended
// the exchange by closing the connection.
func failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// done ends an exchange whose response was read to its end: the
// connection goes back to the pool when it is to be kept, the exchange's
// context did not close it, and the upstream sent nothing past the
// response.
func (c *conn) done(keep bool) {
	if !c.stop() || !keep || c.br.Buffered() > 0 || pending(c.nc) {
		c.close()
		return
	}
	c.t.put(c)
}

// pending reports whether nc holds bytes it read ahead of its reader.
func pending(nc net.Conn) bool {
	b, ok := nc.(interface{ Buffered() int })
	return ok && b.Buffered() > 0
}

// body is a response body read straight from its connection. Its end
// gives the connection back; a Close before it, from any goroutine (an
// idle timer, a shutdown), closes the connection, which also ends a read
// blocked on it.
type body struct {
	c      *conn
	rc     io.ReadCloser // http.ReadResponse's body, never closed: its Close drains
	ctx    context.Context
	keep   bool
	over   atomic.Bool // the connection was given back or closed
	closed atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if b.over.CompareAndSwap(false, true) {
			b.c.done(b.keep)
		}
	default:
		if b.over.CompareAndSwap(false, true) {
			b.c.stop()
			b.c.close()
		}
		if !b.closed.Load() {
			err = failure(b.ctx, err)
		}
	}
	return n, err
}

func (b *body) Close() error {
	b.closed.Store(true)
	if b.over.CompareAndSwap(false, true) {
		b.c.stop()
		b.c.close()
	}
	return nil
}
