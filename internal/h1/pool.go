package h1

import (
	"sync"
	"time"
)

// pool holds the idle connections, newest last for each host: the one
// taken is the one most recently used, the oldest are left to expire.
//
// Expiry costs no clock read per request. A sweep runs every half
// IdleTimeout while any connection is idle, and closes those that were
// idle at the sweep before it too: a connection goes after between half
// and all of IdleTimeout idle.
type pool struct {
	mu   sync.Mutex
	idle map[string][]*conn
	n    int
	// gen counts sweeps; sweeping says the timer is set.
	gen      uint64
	timer    *time.Timer
	sweeping bool
}

// take returns an idle connection to addr, or nil, and whether a sweep
// ran since it went idle.
func (p *pool) take(addr string) (*conn, bool) {
	p.mu.Lock()
	s := p.idle[addr]
	if len(s) == 0 {
		p.mu.Unlock()
		return nil, false
	}
	c := s[len(s)-1]
	s[len(s)-1] = nil
	p.idle[addr] = s[:len(s)-1]
	p.n--
	swept := c.idleGen != p.gen
	p.mu.Unlock()
	return c, swept
}

// put keeps c idle, or closes it when its host has enough idle already.
func (t *Transport) put(c *conn) {
	p := &t.pool
	p.mu.Lock()
	s := p.idle[c.addr]
	if len(s) >= sizeOr(t.MaxIdlePerHost, 2) {
		p.mu.Unlock()
		c.close()
		return
	}
	if p.idle == nil {
		p.idle = make(map[string][]*conn)
	}
	c.idleGen = p.gen
	p.idle[c.addr] = append(s, c)
	p.n++
	if !p.sweeping {
		p.sweeping = true
		every := t.sweepEvery()
		if p.timer == nil {
			p.timer = time.AfterFunc(every, t.sweep)
		} else {
			p.timer.Reset(every)
		}
	}
	p.mu.Unlock()
}

func (t *Transport) sweepEvery() time.Duration {
	d := t.IdleTimeout
	if d <= 0 {
		d = 90 * time.Second
	}
	return d / 2
}

// sweep closes the connections idle since the sweep before, and sets
// the next one while any are left.
func (t *Transport) sweep() {
	p := &t.pool
	p.mu.Lock()
	p.gen++
	var stale []*conn
	for addr, s := range p.idle {
		kept := s[:0]
		for _, c := range s {
			if p.gen-c.idleGen >= 2 {
				stale = append(stale, c)
			} else {
				kept = append(kept, c)
			}
		}
		clear(s[len(kept):])
		if len(kept) == 0 {
			delete(p.idle, addr)
		} else {
			p.idle[addr] = kept
		}
	}
	p.n -= len(stale)
	p.sweeping = p.n > 0
	if p.sweeping {
		p.timer.Reset(t.sweepEvery())
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// closeAll closes every idle connection.
func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.n = nil, 0
	if p.timer != nil {
		p.timer.Stop()
	}
	p.sweeping = false
	p.mu.Unlock()
	for _, s := range idle {
		for _, c := range s {
			c.close()
		}
	}
}
