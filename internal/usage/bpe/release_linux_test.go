package bpe

import (
	"encoding/binary"
	"os"
	"testing"
	"unsafe"
)

// TestLoadReleasesTable: once Load has decoded an embedded table, its
// pages are no longer resident in the process, and a second Load, reading
// them in again from the binary, decodes the same encoding.
func TestLoadReleasesTable(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		t.Run(name, func(t *testing.T) {
			s := encodings[name].table
			table := unsafe.Slice(unsafe.StringData(s), len(s))
			for _, b := range table {
				touched += b // every page resident
			}
			before := residentPages(t, table)
			if before == 0 {
				t.Skip("/proc/self/pagemap shows no page of the table resident")
			}
			first, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			// The pages at either end may hold other data, and stay.
			if got, want := residentPages(t, table), 2; got > want {
				t.Errorf("%d of the table's pages resident after Load (%d before), want at most %d", got, before, want)
			}
			again, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := again.ranks.Len(), first.ranks.Len(); got != want || got == 0 {
				t.Fatalf("second Load: %d tokens, want %d", got, want)
			}
			for _, r := range []int{0, first.ranks.Len() / 2, first.ranks.Len() - 1} {
				if got, want := again.ranks.Token(r), first.ranks.Token(r); got != want {
					t.Errorf("second Load: token %d is %q, want %q", r, got, want)
				}
			}
		})
	}
}

// touched keeps the loop reading every page of a table.
var touched byte

// residentPages counts the pages of b present in memory, from
// /proc/self/pagemap (bit 63 of each page's entry).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("pagemap: %v", err)
	}
	defer f.Close()
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b))) &^ (page - 1)
	end := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b))
	n := 0
	var e [8]byte
	for p := start; p < end; p += page {
		if _, err := f.ReadAt(e[:], int64(p/page*8)); err != nil {
			t.Skipf("pagemap: %v", err)
		}
		if binary.LittleEndian.Uint64(e[:])&(1<<63) != 0 {
			n++
		}
	}
	return n
}
