package gateway

import (
	"runtime"
	"testing"
	"unsafe"
)

// mallocHeader is what Go's allocator (1.22 and later) adds to an object
// over 512 bytes that holds pointers: its type, in 8 bytes before it. The
// object's size class is the one its size and the header fit in.
const mallocHeader = 8

// TestExchangeSizeClass pins the request's state (the meter inside it) in
// Go's 1,536-byte allocation size class: every request allocates it, and
// a held stream keeps it for as long as the stream lasts. It was 1,576
// bytes, in the 1,792-byte class, until its flag, the meter's and the
// peek's sat together instead of each padded to 8 bytes and the meter's
// two counters took 32 bits each. A field more costs every stream 256
// bytes: give it a pointer, compute it when needed (as usagePeek), give
// it back before the stream (as pending), or find the bytes elsewhere.
func TestExchangeSizeClass(t *testing.T) {
	const class = 1536
	if got := unsafe.Sizeof(exchange{}) + mallocHeader; got > class {
		t.Errorf("exchange is %d bytes with its allocation header, over the %d-byte size class", got, class)
	}
	// What the allocator takes for one, measured: the next class up is
	// 1,792 bytes.
	const n = 1000
	held := make([]*exchange, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range held {
		held[i] = new(exchange)
	}
	runtime.ReadMemStats(&after)
	if got := (after.TotalAlloc - before.TotalAlloc) / n; got >= class+128 {
		t.Errorf("an exchange takes %d bytes of heap, want the %d-byte size class", got, class)
	}
	runtime.KeepAlive(held)
}
