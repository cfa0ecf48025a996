package bpe

import (
	"os"
	"syscall"
	"unsafe"
)

// release gives the pages of an embedded table back to the kernel once it
// is decoded: touched by the decoding, they stayed resident for the life
// of the process (1.5 MiB of RSS for both tables) and are not read again.
// Only whole pages inside the table are released; they are the binary's
// read-only data, so a later read (another Load) maps them in again from
// the file, unchanged. (A binary unpacked into anonymous memory, as UPX
// does, would read zeros there; Spillway's binaries are not packed.)
func release(table []byte) {
	if len(table) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	p := unsafe.Pointer(unsafe.SliceData(table))
	start := (uintptr(p) + page - 1) &^ (page - 1)
	end := (uintptr(p) + uintptr(len(table))) &^ (page - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
}
