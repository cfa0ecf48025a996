package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// At shutdown the server stops taking connections and lets requests in
// flight finish for the grace period. Streams still running when it ends
// are cut here (DESIGN.md routing rule 13): each gets the in-band error
// event and an aborted connection, and its usage record (estimated when
// the upstream had not reported usage yet) is made like any other's,
// before the process stops its usage writer.

// errCut is the cause of a stream cut at shutdown.
var errCut = errors.New("the gateway is shutting down")

// streams tracks the answers being streamed, so Cut can end them. Only
// streams register: a JSON answer is short, and one still waiting for its
// upstream ends when the server closes its connection.
type streams struct {
	mu      sync.Mutex
	live    map[*upstream]struct{}
	cutting atomic.Bool
	// ended is signalled each time a stream leaves live after the cut.
	ended  chan struct{}
	active sync.WaitGroup // every request in a handler
}

// add registers up, or cuts it at once when shutdown has already cut the
// others.
func (s *streams) add(up *upstream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cutting.Load() {
		up.cutNow()
		return
	}
	if s.live == nil {
		s.live = make(map[*upstream]struct{})
	}
	s.live[up] = struct{}{}
}

func (s *streams) remove(up *upstream) {
	s.mu.Lock()
	delete(s.live, up)
	if s.ended != nil {
		select {
		case s.ended <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// Cut ends every stream still being sent, and any that starts from now on:
// the upstream body is closed, the client gets the in-band error event
// and an aborted connection, and the request's usage is recorded. It
// returns how many it cut, once each has written its error event (or ctx
// is done), so the server may close the connections after it.
func (g *Gateway) Cut(ctx context.Context) int {
	s := &g.streams
	s.mu.Lock()
	s.cutting.Store(true)
	s.ended = make(chan struct{}, 1)
	n := len(s.live)
	for up := range s.live {
		up.cutNow()
	}
	s.mu.Unlock()
	// Realtime sessions close themselves (error event, close frame) and
	// record their usage; Wait waits for them.
	n += g.sessions.cut()
	for {
		s.mu.Lock()
		left := len(s.live)
		s.mu.Unlock()
		if left == 0 {
			return n
		}
		select {
		case <-s.ended:
		case <-ctx.Done():
			return n
		}
	}
}

// Wait waits until no request is in the gateway's handlers, their usage
// records made, or ctx is done.
func (g *Gateway) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		g.streams.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cutNow closes the attempt's upstream body, which unblocks the copy, and
// marks why.
func (up *upstream) cutNow() {
	up.cut.Store(true)
	up.resp.Body.Close()
}
