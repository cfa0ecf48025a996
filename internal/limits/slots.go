package limits

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Slots caps how many of something are held at once, across replicas: a
// key's requests in flight (max_parallel_requests). A slot is leased: one
// that a crashed replica never gave back comes free when its lease ends,
// so slots cannot leak for good. Memory, Redis and Fallback implement it.
type Slots interface {
	// Acquire takes one of key's max slots for holder, for at most lease,
	// if fewer than max are held; it reports whether it did. A holder
	// that holds a slot of key already renews it: its lease starts again,
	// whatever the count (a long-lived holder, a Realtime session, keeps
	// its slot so).
	Acquire(ctx context.Context, key, holder string, max int64, lease time.Duration) (bool, error)
	// Release gives holder's slot of key back; releasing a slot not held
	// is not an error.
	Release(ctx context.Context, key, holder string) error
}

var (
	_ Slots = (*Memory)(nil)
	_ Slots = (*Redis)(nil)
	_ Slots = (*Fallback)(nil)
)

func checkSlot(max int64, lease time.Duration) error {
	if max < 1 || lease < time.Millisecond {
		return fmt.Errorf("%w: slots need max >= 1 (got %d) and a lease of 1ms or more (got %v)", ErrInvalid, max, lease)
	}
	return nil
}

// memorySlots are Memory's slots: per key, each holder's lease end.
type memorySlots struct {
	mu    sync.Mutex
	slots map[string]map[string]int64 // key -> holder -> lease end, Unix ms
}

// Acquire implements Slots.
func (m *Memory) Acquire(_ context.Context, key, holder string, max int64, lease time.Duration) (bool, error) {
	if err := checkSlot(max, lease); err != nil {
		return false, err
	}
	now := m.now().UnixMilli()
	s := &m.held
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil {
		s.slots = make(map[string]map[string]int64)
	}
	h := s.slots[key]
	for id, end := range h {
		if end <= now {
			delete(h, id)
		}
	}
	if _, held := h[holder]; !held && int64(len(h)) >= max {
		return false, nil
	}
	if h == nil {
		h = make(map[string]int64)
		s.slots[key] = h
	}
	h[holder] = now + lease.Milliseconds()
	return true, nil
}

// Release implements Slots.
func (m *Memory) Release(_ context.Context, key, holder string) error {
	s := &m.held
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.slots[key]; h != nil {
		delete(h, holder)
		if len(h) == 0 {
			delete(s.slots, key)
		}
	}
	return nil
}

// acquireScript holds a slot in a sorted set of holders scored by their
// lease end: expired leases go first, then the holder is added if fewer
// than ARGV[2] remain, or renewed if it is there. ARGV: now (ms), max,
// holder, lease end (ms), TTL (ms). It returns 1 when the slot is held.
var acquireScript = newScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
	return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

var releaseScript = newScript(`return redis.call('ZREM', KEYS[1], ARGV[1])`)

// Acquire implements Slots: one script call; the clock is the caller's,
// as for the counters.
func (r *Redis) Acquire(ctx context.Context, key, holder string, max int64, lease time.Duration) (bool, error) {
	if err := checkSlot(max, lease); err != nil {
		return false, err
	}
	now := r.now().UnixMilli()
	n, err := r.run(ctx, acquireScript, []string{r.slotsKey(key)}, now, max, holder, now+lease.Milliseconds(), lease.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("limits: redis acquire %q: %w", key, err)
	}
	return n == 1, nil
}

// Release implements Slots.
func (r *Redis) Release(ctx context.Context, key, holder string) error {
	if err := r.run(ctx, releaseScript, []string{r.slotsKey(key)}, holder).Err(); err != nil {
		return fmt.Errorf("limits: redis release %q: %w", key, err)
	}
	return nil
}

func (r *Redis) slotsKey(key string) string { return r.prefix + hashTag + "slots:" + key }

// Acquire implements Slots: the primary's, or the local one's while the
// primary fails (each replica then caps alone).
func (f *Fallback) Acquire(ctx context.Context, key, holder string, max int64, lease time.Duration) (bool, error) {
	local, _ := f.local.(Slots)
	primary, ok := f.primary.(Slots)
	if !ok || !f.tryPrimary() {
		if local == nil {
			return true, nil
		}
		return local.Acquire(ctx, key, holder, max, lease)
	}
	got, err := primary.Acquire(ctx, key, holder, max, lease)
	if err == nil {
		f.recovered()
		return got, nil
	}
	if err := f.failed(ctx, err); err != nil {
		return false, err
	}
	if local == nil {
		return true, nil
	}
	return local.Acquire(ctx, key, holder, max, lease)
}

// Release implements Slots: from both, since the slot was taken from one
// of them; a failure of the primary leaves its slot to its lease.
func (f *Fallback) Release(ctx context.Context, key, holder string) error {
	var err error
	if primary, ok := f.primary.(Slots); ok {
		err = primary.Release(ctx, key, holder)
	}
	if local, ok := f.local.(Slots); ok {
		_ = local.Release(ctx, key, holder)
	}
	return err
}
