package mock

import (
	"sync"
	"time"
)

// objects holds what a server keeps between requests (DALL-E 2 jobs,
// stored responses) by id, in memory. Like the real services, only the
// server that made an object knows it: that is what lets tests see that a
// gateway sends each follow-up back where the object was made. It keeps
// at most max objects, each for ttl; the oldest go first.
type objects[T any] struct {
	max int
	ttl time.Duration

	mu    sync.Mutex
	byID  map[string]*stored[T]
	order []string
}

type stored[T any] struct {
	v  T
	at time.Time
}

func (o *objects[T]) add(id string, v T) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byID == nil {
		o.byID = map[string]*stored[T]{}
	}
	now := time.Now()
	for len(o.order) > 0 {
		e, ok := o.byID[o.order[0]]
		if ok && len(o.order) < o.max && now.Sub(e.at) <= o.ttl {
			break
		}
		delete(o.byID, o.order[0])
		o.order = o.order[1:]
	}
	o.byID[id] = &stored[T]{v: v, at: now}
	o.order = append(o.order, id)
}

// with calls f with the object id, under the lock, and reports whether it
// was found and is still fresh.
func (o *objects[T]) with(id string, f func(*T)) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.byID[id]
	if !ok || time.Since(e.at) > o.ttl {
		return false
	}
	f(&e.v)
	return true
}

// get returns a copy of the object id.
func (o *objects[T]) get(id string) (T, bool) {
	var v T
	ok := o.with(id, func(p *T) { v = *p })
	return v, ok
}

// remove forgets id and reports whether it was there.
func (o *objects[T]) remove(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.byID[id]
	delete(o.byID, id)
	return ok
}

// each calls f with every fresh object, under the lock.
func (o *objects[T]) each(f func(*T)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range o.order {
		if e, ok := o.byID[id]; ok && time.Since(e.at) <= o.ttl {
			f(&e.v)
		}
	}
}
