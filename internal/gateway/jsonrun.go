package gateway

import (
	"encoding/binary"
	"math/bits"
)

// A request's prompt is most of its body, and nearly all of a prompt is
// plain string text: bytes that are neither a quote, a backslash nor a
// control character. plainRun steps over such text eight bytes at a time
// (SWAR: "SIMD within a register"), where the scanner's byte loop took a
// branchy switch per byte: a 4 KiB system prompt was about 4 µs of the
// gateway's own CPU per request.

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// plainRun returns the index of the first byte of b at or after i that is
// a quote, a backslash or a control character (below 0x20), or len(b).
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if m := specialBytes(x); m != 0 {
			// The lowest flagged byte is exact: the trick's false
			// positives only ever come above a true one.
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// specialBytes sets the high bit of each byte of x (little-endian) that
// is a quote, a backslash or below 0x20, and perhaps of bytes above the
// lowest such one; it is zero when x has none.
func specialBytes(x uint64) uint64 {
	return (zeroBytes(x^(swarOnes*'"')) | zeroBytes(x^(swarOnes*'\\')) | (x-swarOnes*0x20)&^x) & swarHighs
}

// zeroBytes flags x's zero bytes in their high bits (before masking).
func zeroBytes(x uint64) uint64 { return (x - swarOnes) &^ x }
