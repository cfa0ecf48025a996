package gateway

import (
	"testing"
	"unsafe"
)

// TestExchangeSizeClass pins the request's state in Go's 2,304-byte
// allocation size class: every request allocates it, and a held stream
// keeps it for as long as the stream lasts. The next class is 2,688
// bytes; a field that pushes it there costs every stream 384 bytes, so
// give it a pointer (as usagePeek) or find the bytes elsewhere.
func TestExchangeSizeClass(t *testing.T) {
	if got, limit := unsafe.Sizeof(exchange{}), uintptr(2304); got > limit {
		t.Errorf("exchange is %d bytes, over the %d-byte size class", got, limit)
	}
}
