package limits

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
