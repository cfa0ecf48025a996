package gateway

import (
	"sync"
	"sync/atomic"
	"time"
)

// idleTimer closes an attempt's body when its upstream stays silent
// while the gateway waits on it. Timers are pooled: a timer and its
// function made for every attempt were three allocations
// (TestServePlainAllocs), and a timer added to the heap before the first
// read armed it again.
type idleTimer struct {
	t  *time.Timer
	up atomic.Pointer[upstream]
}

var idleTimers = sync.Pool{New: func() any {
	it := new(idleTimer)
	it.t = time.AfterFunc(time.Hour, it.fire)
	it.t.Stop()
	return it
}}

// fire is the timer's function: the upstream went silent.
func (it *idleTimer) fire() {
	up := it.up.Load()
	if up == nil {
		// Pooled: cannot happen, a timer goes back stopped and unfired,
		// but a panic here would take the process down.
		return
	}
	up.idled.Store(true)
	up.resp.Body.Close() // unblocks the pending Read
}

// watch gives up an idle timer, stopped: arm starts it before each
// wait on the upstream, disarm stops it after.
func (up *upstream) watch() {
	up.idle = idleTimers.Get().(*idleTimer)
	up.idle.up.Store(up)
}

func (up *upstream) arm() {
	up.idle.t.Reset(up.timeout)
	up.idleArmed = true
}

// disarm stops the timer. A Stop that finds it gone off means its
// function has started, or is about to, with this upstream: the timer
// is then never given to another (unwatch).
func (up *upstream) disarm() {
	if !up.idle.t.Stop() {
		up.idleFired = true
	}
	up.idleArmed = false
}

// unwatch stops the timer and gives it back, unless it went off. It is
// still armed only when a read panicked.
func (up *upstream) unwatch() {
	if up.idle == nil {
		return
	}
	if up.idleArmed {
		up.disarm()
	}
	if !up.idleFired {
		// Every Stop stopped it before it went off: its function never
		// ran, and will not.
		up.idle.up.Store(nil)
		idleTimers.Put(up.idle)
	}
	up.idle = nil
}
