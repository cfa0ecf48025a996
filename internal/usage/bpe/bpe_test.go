package bpe

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"runtime"
	"testing"
	"unicode/utf8"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// tiktokenURL is where tiktoken-go and its offline loader find an
// encoding's .tiktoken file.
func tiktokenURL(name string) string {
	return "https://openaipublic.blob.core.windows.net/encodings/" + name + ".tiktoken"
}

// load returns the embedded encoding name, failing the test if it does
// not load.
func load(t testing.TB, name string) *Encoder {
	t.Helper()
	e, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTablesMatchTiktoken compares each embedded table, token by token,
// with the .tiktoken file it was generated from.
func TestTablesMatchTiktoken(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		want, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(tiktokenURL(name))
		if err != nil {
			t.Fatal(err)
		}
		got := load(t, name).Ranks()
		if got.Len() != len(want) {
			t.Errorf("%s: %d tokens, want %d", name, got.Len(), len(want))
		}
		for tok, rank := range want {
			if g, ok := got.Rank(tok); !ok || g != rank {
				t.Errorf("%s: token %q has rank %d (present %v), want %d", name, tok, g, ok, rank)
				break
			}
			if g := got.Token(rank); g != tok {
				t.Errorf("%s: token of rank %d is %q, want %q", name, rank, g, tok)
				break
			}
		}
		for _, tok := range []string{"", "not one token at all", "\xff\xfe\xfd\xfc"} {
			if r, ok := got.Rank(tok); ok {
				t.Errorf("%s: Rank(%q) = %d, want none", name, tok, r)
			}
		}
	}
}

func TestLoadUnknownEncoding(t *testing.T) {
	if _, err := Load("p50k_base"); err == nil {
		t.Error("p50k_base loaded, want an error: it is not embedded")
	}
}

func deflate(t testing.TB, raw []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(raw)
	w.Close()
	return b.Bytes()
}

func TestDecodeCorrupt(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"not deflate", []byte("not a table")},
		{"length past the end", deflate(t, binary.AppendUvarint(nil, 9))},
		{"empty token", deflate(t, []byte{0})},
		{"duplicate", deflate(t, []byte{1, 'a', 1, 'a'})},
		{"duplicate later", deflate(t, []byte{1, 'a', 2, 'b', 'c', 1, 'd', 2, 'b', 'c'})},
	}
	for _, tt := range tests {
		if got, err := Decode(tt.data); err == nil {
			t.Errorf("%s: Decode = %d tokens, want an error", tt.name, got.Len())
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(deflate(f, []byte{1, 'a', 2, 'b', 'c'}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ranks, err := Decode(data)
		if err != nil {
			return
		}
		for r := range ranks.Len() {
			tok := ranks.Token(r)
			if got, ok := ranks.Rank(tok); tok == "" || !ok || got != r {
				t.Fatalf("token %q of rank %d has rank %d (present %v)", tok, r, got, ok)
			}
		}
	})
}

// Looking a token up and merging a piece do not allocate.
func TestRanksDoNotAllocate(t *testing.T) {
	ranks := load(t, "o200k_base").Ranks()
	for _, piece := range []string{" hello", "antidisestablishmentarianism", "=========", "\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d"} {
		if n := testing.AllocsPerRun(100, func() { ranks.Rank(piece) }); n != 0 {
			t.Errorf("Rank(%q): %v allocations, want 0", piece, n)
		}
		if n := testing.AllocsPerRun(100, func() { ranks.count(piece) }); n != 0 {
			t.Errorf("count(%q): %v allocations, want 0", piece, n)
		}
	}
}

// Counting valid UTF-8 does not allocate while pieces are shorter than
// stackParts.
func TestCountDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		enc := load(t, name)
		for _, text := range texts {
			if !utf8.ValidString(text) || len(text) >= stackParts {
				continue
			}
			if n := testing.AllocsPerRun(10, func() { enc.Count(text) }); n != 0 {
				t.Errorf("%s: Count(%.20q): %v allocations, want 0", name, text, n)
			}
		}
	}
}

// An encoding loaded is a few MiB in a few objects, none of which the
// garbage collector has to look into (tiktoken-go's maps for the two
// encodings: 42 MiB in 189,000 objects).
func TestLoadHeap(t *testing.T) {
	for _, tt := range []struct {
		name      string
		maxHeap   int64
		maxObject int64
	}{
		{"cl100k_base", 3 << 20, 100},
		{"o200k_base", 5 << 20, 100},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		enc := load(t, tt.name)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		objects := int64(after.HeapObjects) - int64(before.HeapObjects)
		t.Logf("%s: %.1f MiB in %d objects", tt.name, float64(heap)/(1<<20), objects)
		if heap > tt.maxHeap || objects > tt.maxObject {
			t.Errorf("%s: loaded, %d bytes in %d objects, want at most %d in %d", tt.name, heap, objects, tt.maxHeap, tt.maxObject)
		}
		runtime.KeepAlive(enc)
	}
}

// BenchmarkLoad measures loading an encoding from the embedded table.
func BenchmarkLoad(b *testing.B) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				load(b, name)
			}
		})
	}
}
