package usage

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestQueue pushes and takes in steps across chunk boundaries: records
// come out in the order they went in, push refuses past max and only
// then, and an emptied queue holds no chunk but the spare.
func TestQueue(t *testing.T) {
	type step struct {
		push, take int
		// wantLen after the step, wantRefused pushes of it refused.
		wantLen, wantRefused int
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"one record", 1, []step{{push: 2, wantLen: 1, wantRefused: 1}, {take: 5}, {push: 1, take: 1}}},
		{"within a chunk", 100, []step{{push: 60, take: 10, wantLen: 50}, {push: 60, wantLen: 100, wantRefused: 10}, {take: 100}}},
		{"across chunks", 3*queueChunk + 7, []step{
			{push: 2 * queueChunk, take: queueChunk / 2, wantLen: 3 * queueChunk / 2},
			{push: 2 * queueChunk, wantLen: 3*queueChunk + 7, wantRefused: queueChunk/2 - 7},
			{take: queueChunk + 1, wantLen: 2*queueChunk + 6},
			{push: queueChunk + 5, wantLen: 3*queueChunk + 7, wantRefused: 4},
			{take: 10 * queueChunk},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue(tc.max)
			var in, out []string
			next := 0
			for i, s := range tc.steps {
				refused := 0
				for range s.push {
					id := fmt.Sprint(next)
					next++
					if q.push(Record{RequestID: id}) {
						in = append(in, id)
					} else {
						refused++
					}
				}
				for _, r := range q.take(nil, s.take) {
					out = append(out, r.RequestID)
				}
				if got, want := q.len(), s.wantLen; got != want {
					t.Errorf("step %d: len %d, want %d", i, got, want)
				}
				if got, want := refused, s.wantRefused; got != want {
					t.Errorf("step %d: %d pushes refused, want %d", i, got, want)
				}
			}
			if diff := cmp.Diff(in, out); diff != "" {
				t.Errorf("taken records differ from pushed ones (-pushed +taken):\n%s", diff)
			}
			if q.len() == 0 && len(q.chunks) != 0 {
				t.Errorf("an empty queue holds %d chunks, want none but the spare", len(q.chunks))
			}
		})
	}
}

// TestQueueReady: a push leaves a token on ready, and a take that leaves
// records behind leaves one too, so that Run, taking a batch's worth and
// coming back to wait on ready, finds the rest.
func TestQueueReady(t *testing.T) {
	q := newQueue(10)
	ready := func() bool {
		select {
		case <-q.ready:
			return true
		default:
			return false
		}
	}
	if ready() {
		t.Fatal("an empty queue is ready")
	}
	q.push(Record{})
	q.push(Record{})
	if !ready() {
		t.Fatal("no token after push")
	}
	q.take(nil, 1)
	if !ready() {
		t.Fatal("no token after a take that left a record")
	}
	q.take(nil, 1)
	if ready() {
		t.Fatal("a token after a take that left none")
	}
}

// TestWriterIdleMemory: a Writer allocates its queue and its batch as
// records come, not whole at NewWriter (a channel of QueueSize records
// and a batch of BatchSize were 4.8 MB at the defaults), and lets them go
// once traffic stops.
func TestWriterIdleMemory(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	before := heap()
	w := NewWriter(discardSink{}, WriterOptions{})
	if got, want := heap()-before, uint64(64<<10); got > want {
		t.Errorf("NewWriter allocated %d bytes, want at most %d", got, want)
	}
	// A burst as big as the queue, taken in batches, then a trickle that
	// goes out on the FlushInterval.
	for i := range DefaultQueueSize {
		if !w.queue.push(Record{RequestID: fmt.Sprint(i)}) {
			t.Fatalf("push %d of %d refused", i, DefaultQueueSize)
		}
	}
	for w.queue.len() > 0 {
		w.fill()
		w.clearBatch()
	}
	w.queue.push(Record{})
	w.fill()
	w.clearBatch()
	if len(w.queue.chunks) != 0 || w.batch != nil {
		t.Errorf("idle: %d chunks queued and a batch of capacity %d, want none", len(w.queue.chunks), cap(w.batch))
	}
}

type discardSink struct{}

func (discardSink) InsertUsage(context.Context, []Record) error { return nil }
