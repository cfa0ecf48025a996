//go:build !unix

package h1

import "net"

// liveness checks nothing where there is no socket to peek at: a
// connection the upstream closed while idle fails its request, which is
// then sent again when it may be (Transport.RoundTrip).
type liveness struct{}

func (l *liveness) init(net.Conn) {}

func (l *liveness) check() bool { return true }
