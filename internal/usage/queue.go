package usage

import (
	"sync"
	"sync/atomic"
)

// queueChunk is how many records a chunk of the queue holds: 80 KiB of
// them, allocated when the records arrive.
const queueChunk = 256

// queue is the Writer's bounded FIFO of records, what a channel of max
// records was, without allocating max records up front: it holds them in
// chunks of queueChunk, allocated as records arrive and let go as they
// are taken, so an idle Writer holds one spare chunk at most, and a
// burst still finds room for max records before push refuses. Any
// goroutine pushes; only the Writer's owner takes.
type queue struct {
	max   int
	ready chan struct{} // a token when records may be waiting

	mu     sync.Mutex
	chunks [][]Record // oldest first; chunks[0][head:] are the next
	head   int
	spare  []Record // an emptied chunk, kept for the next push
	n      atomic.Int64
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1)}
}

// len is how many records are queued.
func (q *queue) len() int { return int(q.n.Load()) }

// push queues r and reports true, or reports false when max records are
// queued.
func (q *queue) push(r Record) bool {
	q.mu.Lock()
	if int(q.n.Load()) >= q.max {
		q.mu.Unlock()
		return false
	}
	last := len(q.chunks) - 1
	if last < 0 || len(q.chunks[last]) == cap(q.chunks[last]) {
		c := q.spare
		if c == nil {
			c = make([]Record, 0, min(queueChunk, q.max))
		}
		q.spare = nil
		q.chunks = append(q.chunks, c)
		last++
	}
	q.chunks[last] = append(q.chunks[last], r)
	q.n.Add(1)
	q.mu.Unlock()
	q.signal()
	return true
}

// signal leaves a token on ready, unless one is there already.
func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take appends up to n queued records to dst, oldest first, and returns
// it. It holds the lock a chunk at a time, so that a push waits at most
// for one chunk's copy, not a batch's. When records are left, ready gets
// a token again, so the owner coming back to wait on it finds them.
func (q *queue) take(dst []Record, n int) []Record {
	for n > 0 {
		var k int
		dst, k = q.takeChunk(dst, n)
		if k == 0 {
			break
		}
		n -= k
	}
	if q.n.Load() > 0 {
		q.signal()
	}
	return dst
}

// takeChunk appends up to n records of the oldest chunk to dst, and
// returns it and how many it took.
func (q *queue) takeChunk(dst []Record, n int) ([]Record, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.chunks) == 0 {
		return dst, 0
	}
	c := q.chunks[0]
	k := min(n, len(c)-q.head)
	dst = append(dst, c[q.head:q.head+k]...)
	clear(c[q.head : q.head+k]) // let the strings go
	q.head += k
	q.n.Add(int64(-k))
	if q.head == len(c) {
		// Used up: kept as the spare, if there is none, for the next push
		// to start a chunk in.
		copy(q.chunks, q.chunks[1:])
		q.chunks[len(q.chunks)-1] = nil
		q.chunks = q.chunks[:len(q.chunks)-1]
		q.head = 0
		if q.spare == nil {
			q.spare = c[:0]
		}
	}
	return dst, k
}

// drop empties the queue and returns how many records it held.
func (q *queue) drop() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := int(q.n.Swap(0))
	q.chunks, q.head = nil, 0
	return n
}
