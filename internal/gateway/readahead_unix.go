//go:build unix

package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// readAheadSize is how much a read of an upstream connection takes from
// the socket at once: what a stream's upstream sent while the gateway was
// busy, a few events, in one syscall where the connection's 512-byte read
// buffer (upstreamReadBuffer) would take sixteen.
const readAheadSize = 8 << 10

var readAheadPool = sync.Pool{New: func() any { b := make([]byte, readAheadSize); return &b }}

// readAheadConn is an upstream connection that waits for data without a
// buffer, then reads all the socket holds (up to readAheadSize) into a
// pooled one, given back once its caller (the transport's read buffer) has
// taken it all. A held stream, silent most of its life, holds no more than
// it did; a busy one makes fewer reads.
type readAheadConn struct {
	net.Conn
	raw syscall.RawConn
	// ahead holds what a read took from the socket beyond what its caller
	// asked for, ahead[off:end]; nil when there is none.
	ahead    *[]byte
	off, end int
	// p, n and err are readFD's argument and results; readFD is bound
	// once, so a read allocates nothing.
	p      []byte
	n      int
	err    error
	readFD func(fd uintptr) bool
}

// dialReadAhead wraps dial's connections in a readAheadConn.
func dialReadAhead(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return c, err
		}
		return newReadAheadConn(c), nil
	}
}

// newReadAheadConn wraps c, or returns it as it is when it has no file
// descriptor to read from.
func newReadAheadConn(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	rc := &readAheadConn{Conn: c, raw: raw}
	rc.readFD = rc.read
	return rc
}

func (c *readAheadConn) Read(p []byte) (int, error) {
	if c.ahead != nil {
		n := copy(p, (*c.ahead)[c.off:c.end])
		if c.off += n; c.off == c.end {
			readAheadPool.Put(c.ahead)
			c.ahead = nil
		}
		return n, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.p = p
	err := c.raw.Read(c.readFD)
	n, rerr := c.n, c.err
	c.p, c.n, c.err = nil, 0, nil
	switch {
	case rerr != nil:
		err = rerr
	case err != nil:
		// The poller's error (closed, deadline) as net.Conn.Read says it.
		if op, ok := errors.AsType[*net.OpError](err); ok {
			op.Op = "read"
		}
	}
	return n, err
}

// read is the raw read: it reports false (wait for the socket to be
// readable) while there is nothing to read, holding no buffer meanwhile.
func (c *readAheadConn) read(fd uintptr) bool {
	if len(c.p) >= readAheadSize {
		// A large read (a JSON answer) needs no read-ahead.
		n, err := readFD(int(fd), c.p)
		if err == syscall.EAGAIN {
			return false
		}
		c.n, c.err = c.result(n, err)
		return true
	}
	bp := readAheadPool.Get().(*[]byte)
	n, err := readFD(int(fd), *bp)
	if err == syscall.EAGAIN {
		readAheadPool.Put(bp)
		return false
	}
	if n, err = c.result(n, err); err != nil || n == 0 {
		readAheadPool.Put(bp)
		c.err = err
		return true
	}
	c.n = copy(c.p, (*bp)[:n])
	if c.n < n {
		c.ahead, c.off, c.end = bp, c.n, n
	} else {
		readAheadPool.Put(bp)
	}
	return true
}

// result turns a read(2)'s results into net.Conn.Read's.
func (c *readAheadConn) result(n int, err error) (int, error) {
	switch {
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readFD is read(2), retried when a signal interrupts it.
func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// Buffered is how many bytes the connection read ahead that its caller
// has not taken: h1 keeps a connection only when none are left past a
// response.
func (c *readAheadConn) Buffered() int { return c.end - c.off }

// SyscallConn is the socket's, for h1's check of an idle connection.
func (c *readAheadConn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }
