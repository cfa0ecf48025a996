//go:build unix

package h1

import (
	"net"
	"syscall"
)

// liveness is what a connection needs to be checked as it leaves the
// pool: its raw socket, and the check bound once so that it allocates
// nothing.
type liveness struct {
	raw   syscall.RawConn
	peek  func(fd uintptr) bool
	alive bool
}

func (l *liveness) init(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	l.raw = raw
	l.peek = l.peekFD
}

// check reports whether an idle connection may carry a request: the
// upstream neither closed it nor sent anything while it was idle (a 408
// before closing, say), which a request would take for its answer.
// net/http's reader goroutine notices both as they happen; here one
// non-blocking peek at the socket does, as the connection is taken.
func (l *liveness) check() bool {
	if l.raw == nil {
		return true
	}
	if err := l.raw.Read(l.peek); err != nil {
		return false
	}
	return l.alive
}

func (l *liveness) peekFD(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Nothing to read is the one healthy answer: data is unasked for,
	// zero bytes is the upstream's close, anything else an error.
	l.alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}
