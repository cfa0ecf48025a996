//go:build !unix

package gateway

import (
	"context"
	"net"
)

// dialReadAhead returns dial as it is: the read-ahead needs a unix socket.
func dialReadAhead(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return dial
}
