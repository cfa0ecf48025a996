package gateway

import (
	"testing"
	"unsafe"
)

// TestExchangeSizeClass pins the request's state (1,576 bytes, the meter
// inside it) in Go's 1,792-byte allocation size class: every request
// allocates it, and a held stream keeps it for as long as the stream
// lasts. The next class is 2,048 bytes; a field that pushes it there costs
// every stream 256 bytes, so give it a pointer, compute it when needed (as
// usagePeek), give it back before the stream (as pending), or find the
// bytes elsewhere.
func TestExchangeSizeClass(t *testing.T) {
	if got, limit := unsafe.Sizeof(exchange{}), uintptr(1792); got > limit {
		t.Errorf("exchange is %d bytes, over the %d-byte size class", got, limit)
	}
}
