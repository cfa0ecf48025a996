package limits

import "context"

// MemoryCounters returns how many counters m holds, for tests of the sweep.
func MemoryCounters(m *Memory) int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.counters)
		s.mu.Unlock()
	}
	return n
}

// MaxPending is how many counters wait for the interval at most.
const MaxPending = maxPending

// TakeBatch makes the TakeAll of each of calls, writing its decisions to
// outs, in one batch, as Run sends the calls queued together.
func TakeBatch(ctx context.Context, r *Redis, calls [][]Limit, outs [][]Decision) error {
	now := r.now()
	batch := make([]*scriptCall, len(calls))
	tcs := make([]*takeCall, len(calls))
	for i, ls := range calls {
		tcs[i] = r.newTake(ctx, ls, now)
		tcs[i].done = make(chan struct{})
		batch[i] = &tcs[i].scriptCall
	}
	r.send(batch, new(takeBatch))
	for i, tc := range tcs {
		if tc.err != nil {
			return tc.err
		}
		tc.decide(calls[i], outs[i], now)
	}
	return nil
}
