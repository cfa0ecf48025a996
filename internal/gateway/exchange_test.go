package gateway

import (
	"testing"
	"unsafe"
)

// TestExchangeSizeClass pins the request's state (1,536 bytes, the meter
// inside it) in Go's 1,536-byte allocation size class: every request
// allocates it, and a held stream keeps it for as long as the stream
// lasts. It was 1,576 bytes in the 1,792-byte class until its flags (and
// the meter's and the peek's) sat together instead of each padded to 8
// bytes. A field more costs every stream 256 bytes: give it a pointer,
// compute it when needed (as usagePeek), give it back before the stream
// (as pending), or find the bytes elsewhere.
func TestExchangeSizeClass(t *testing.T) {
	if got, limit := unsafe.Sizeof(exchange{}), uintptr(1536); got > limit {
		t.Errorf("exchange is %d bytes, over the %d-byte size class", got, limit)
	}
}
