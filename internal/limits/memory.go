package limits

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a Limiter whose counters live in this process: right for a
// single replica, and the local half of a Fallback. The zero value is not
// usable; call NewMemory.
//
// Counters are spread over shards so unrelated keys rarely contend; stale
// windows are swept lazily (at most once a minute per shard, on a Take), so
// Memory owns no goroutine and needs no Close.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [memoryShards]memoryShard
	held   memorySlots // slots.go
}

const (
	memoryShards = 32
	sweepEvery   = time.Minute
)

type memoryShard struct {
	mu        sync.Mutex
	counters  map[counterID]counter
	nextSweep int64 // Unix ms
}

// counterID names one counter: a key and a window length, so the same key
// may carry a per-minute and a per-day limit independently.
type counterID struct {
	key      string
	windowMS int64
}

type counter struct {
	index int64 // window index the count belongs to
	n     int64
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty Memory limiter reading the time from now
// (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].counters = make(map[counterID]counter)
	}
	return m
}

// Take implements Limiter.
func (m *Memory) Take(_ context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error) {
	if err := checkTake(limit, window, cost); err != nil {
		return Decision{}, err
	}
	now := m.now()
	w := windowAt(now, window)
	id := counterID{key: key, windowMS: w.ms}
	s := m.shard(key)

	s.mu.Lock()
	s.sweep(now.UnixMilli())
	c := s.current(id, &w)
	allowed := c.n+cost <= limit
	if allowed && cost > 0 {
		c.n += cost
		s.counters[id] = c
	}
	s.mu.Unlock()
	return decide(allowed, limit, c.n, now, w), nil
}

// Adjust implements Limiter.
func (m *Memory) Adjust(_ context.Context, key string, window time.Duration, delta int64) error {
	if err := checkAdjust(window); err != nil {
		return err
	}
	if delta != 0 {
		m.adjust(Adjustment{Key: key, Window: window, Delta: delta}, m.now())
	}
	return nil
}

// AdjustAll implements MultiAdjuster: in memory there is no trip to
// save, so each is made on its own.
func (m *Memory) AdjustAll(_ context.Context, as []Adjustment) error {
	for _, a := range as {
		if err := checkAdjust(a.Window); err != nil {
			return err
		}
	}
	now := m.now()
	for _, a := range as {
		if a.Delta != 0 {
			m.adjust(a, now)
		}
	}
	return nil
}

// adjust makes a at now. Memory keeps each counter's latest window only:
// a correction of a window that has ended is dropped, since nothing
// counts in that window any more.
func (m *Memory) adjust(a Adjustment, now time.Time) {
	w := a.windowOf(now)
	if w.index < windowAt(now, a.Window).index {
		return
	}
	id := counterID{key: a.Key, windowMS: w.ms}
	s := m.shard(a.Key)

	s.mu.Lock()
	s.sweep(now.UnixMilli())
	c := s.current(id, &w)
	c.n = max(0, c.n+a.Delta)
	s.counters[id] = c
	s.mu.Unlock()
}

func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[m.shardIndex(key)]
}

// current returns id's counter for window w, empty when the stored one
// belongs to an earlier window. A caller whose clock reading is older than
// the stored window (two goroutines racing across a boundary) is moved into
// the newer window rather than resetting it, which would admit twice.
// The caller holds s.mu.
func (s *memoryShard) current(id counterID, w *window) counter {
	c, ok := s.counters[id]
	switch {
	case !ok || c.index < w.index:
		return counter{index: w.index}
	case c.index > w.index:
		w.index = c.index
	}
	return c
}

// sweep drops counters of past windows, at most once per sweepEvery.
// The caller holds s.mu.
func (s *memoryShard) sweep(nowMS int64) {
	if nowMS < s.nextSweep {
		return
	}
	s.nextSweep = nowMS + sweepEvery.Milliseconds()
	for id, c := range s.counters {
		if c.index < floorDiv(nowMS, id.windowMS) {
			delete(s.counters, id)
		}
	}
}

// TakeAll implements Multi: the shards of every limit are locked, in
// shard order so two calls never wait for each other, while all are
// checked and taken.
func (m *Memory) TakeAll(_ context.Context, ls []Limit, out []Decision) error {
	if len(out) != len(ls) {
		return fmt.Errorf("%w: %d decisions for %d limits", ErrInvalid, len(out), len(ls))
	}
	if err := checkAll(ls); err != nil {
		return err
	}
	now := m.now()
	var locked [memoryShards]bool
	for _, x := range ls {
		locked[m.shardIndex(x.Key)] = true
	}
	for i := range locked {
		if locked[i] {
			m.shards[i].mu.Lock()
			m.shards[i].sweep(now.UnixMilli())
		}
	}
	// Two limits may name one counter (a key's rpm and its event's, say,
	// never in practice): each sees the counts before this call.
	var stack [8]window
	ws := stack[:0]
	all := true
	for i, x := range ls {
		w := windowAt(now, x.Window)
		s := &m.shards[m.shardIndex(x.Key)]
		c := s.current(counterID{key: x.Key, windowMS: w.ms}, &w)
		ws = append(ws, w)
		fits := c.n+x.Cost <= x.Limit
		all = all && fits
		out[i] = decide(fits, x.Limit, c.n, now, w)
	}
	if all {
		for i, x := range ls {
			s := &m.shards[m.shardIndex(x.Key)]
			id := counterID{key: x.Key, windowMS: ws[i].ms}
			c := s.current(id, &ws[i])
			c.n += x.Cost
			if x.Cost > 0 {
				s.counters[id] = c
			}
			out[i].Remaining = max(0, x.Limit-c.n)
		}
	}
	for i := range locked {
		if locked[i] {
			m.shards[i].mu.Unlock()
		}
	}
	return nil
}

func (m *Memory) shardIndex(key string) uint64 {
	return maphash.String(m.seed, key) % memoryShards
}
