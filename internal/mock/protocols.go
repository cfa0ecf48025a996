package mock

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync/atomic"
)

// ProtocolsPath is where a handler made by CountProtocols answers, with
// the ProtocolCounts as JSON. No upstream API uses the path.
const ProtocolsPath = "/_mock/protocols"

// Protocols wraps a handler (the mock) and counts the connections and
// requests it serves by HTTP version, so that a benchmark can tell how the
// clients in front of it talked to it: one HTTP/1.1 connection per stream,
// or many HTTP/2 streams on a few connections. Serve it with its
// ConnContext set as the http.Server's, or it counts requests only.
type Protocols struct {
	next http.Handler
	// conns and reqs count by protoIndex.
	conns, reqs [len(protoNames)]atomic.Int64
	// accepted counts every connection, used or not.
	accepted atomic.Int64
}

// protoNames are the versions counted, by protoIndex.
var protoNames = [...]string{"HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "other"}

func protoIndex(r *http.Request) int {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return 0
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return 1
	case r.ProtoMajor == 2:
		return 2
	}
	return 3
}

// CountProtocols returns next wrapped in a Protocols counter.
func CountProtocols(next http.Handler) *Protocols { return &Protocols{next: next} }

// connSeen marks a connection once its first request has been counted.
type connSeen struct{ atomic.Bool }

type connSeenKey struct{}

// ConnContext is for http.Server.ConnContext: it marks each connection's
// context, so that its first request counts the connection.
func (p *Protocols) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	p.accepted.Add(1)
	return context.WithValue(ctx, connSeenKey{}, new(connSeen))
}

// ServeHTTP counts r and passes it on, or answers ProtocolsPath.
func (p *Protocols) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seen, _ := r.Context().Value(connSeenKey{}).(*connSeen)
	if r.URL.Path == ProtocolsPath {
		// A connection opened to ask is not one of the counted clients'.
		if seen != nil && seen.CompareAndSwap(false, true) {
			p.accepted.Add(-1)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Counts())
		return
	}
	i := protoIndex(r)
	p.reqs[i].Add(1)
	if seen != nil && seen.CompareAndSwap(false, true) {
		p.conns[i].Add(1)
	}
	p.next.ServeHTTP(w, r)
}

// ProtocolCounts are the connections and requests served so far by HTTP
// version ("HTTP/1.1", "HTTP/2.0"); versions not seen are left out. A
// connection is counted at its first request, under that request's
// version. Accepted counts every connection accepted, including those
// closed before any request: an HTTP/2 client that dials a connection for
// each of a burst of requests and keeps one shows as many accepted and one
// counted.
type ProtocolCounts struct {
	Connections map[string]int64 `json:"connections"`
	Requests    map[string]int64 `json:"requests"`
	Accepted    int64            `json:"accepted"`
}

// Counts returns what p has counted so far. Its own answers to
// ProtocolsPath are not counted, nor a connection opened for them.
func (p *Protocols) Counts() ProtocolCounts {
	c := ProtocolCounts{Connections: map[string]int64{}, Requests: map[string]int64{}, Accepted: p.accepted.Load()}
	for i, name := range protoNames {
		if n := p.conns[i].Load(); n > 0 {
			c.Connections[name] = n
		}
		if n := p.reqs[i].Load(); n > 0 {
			c.Requests[name] = n
		}
	}
	return c
}

// Sub returns the counts of c that came after earlier.
func (c ProtocolCounts) Sub(earlier ProtocolCounts) ProtocolCounts {
	sub := func(now, then map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, n := range now {
			if d := n - then[k]; d > 0 {
				out[k] = d
			}
		}
		return out
	}
	return ProtocolCounts{Connections: sub(c.Connections, earlier.Connections), Requests: sub(c.Requests, earlier.Requests), Accepted: c.Accepted - earlier.Accepted}
}
