package gateway

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/bench"
)

// plainRunBefore is the scanner's byte loop that plainRun replaced, the
// reference it must agree with.
func plainRunBefore(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func TestPlainRun(t *testing.T) {
	tests := []struct {
		name string
		b    string
		i    int
		want int
	}{
		{"empty", "", 0, 0},
		{"all plain", "hello, world", 0, 12},
		{"quote first", `"abc`, 0, 0},
		{"quote in the first word", `abc"defghij`, 0, 3},
		{"quote in the second word", `abcdefghij"k`, 0, 10},
		{"backslash", `abcdefgh\n`, 0, 8},
		{"newline", "abcdefgh\nx", 0, 8},
		{"nul", "abcdefghijklmno\x00", 0, 15},
		{"0x1f", "abc\x1f", 0, 3},
		{"space is plain", "        x", 0, 9},
		{"0x7f and up are plain", "\x7f\x80\xff\xfe\xc3\xa9日本語", 0, 15},
		{"from i", `"abcdefgh"`, 1, 9},
		{"quote just below a zero byte", "abcdef\"\x00", 0, 6},
		{"zero below a quote", "abcdef\x00\"", 0, 6},
		// 0x01 above a byte the borrow passes through: a false positive
		// of the trick, above the true one.
		{"borrow above a control", "abc\x00\x01\x01\x01\x01", 0, 3},
		{"0x20 after 0x21", "!!!!!!! \"", 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainRun([]byte(tt.b), tt.i); got != tt.want {
				t.Errorf("plainRun(%q, %d) = %d, want %d", tt.b, tt.i, got, tt.want)
			}
			if got := plainRunBefore([]byte(tt.b), tt.i); got != tt.want {
				t.Errorf("the reference gives %d, want %d: the table is wrong", got, tt.want)
			}
		})
	}
}

// TestPlainRunRandom compares plainRun with the byte loop on 300,000
// short strings of the bytes around its edges, at every offset mod 8.
func TestPlainRunRandom(t *testing.T) {
	alphabet := []byte{'a', 'a', 'a', 'a', '"', '\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xc3, 0xff}
	rnd := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, 40)
	for range 300_000 {
		b = b[:rnd.IntN(40)]
		for j := range b {
			b[j] = alphabet[rnd.IntN(len(alphabet))]
		}
		i := rnd.IntN(len(b) + 1)
		if got, want := plainRun(b, i), plainRunBefore(b, i); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, i, got, want)
		}
	}
}

// FuzzPlainRun holds plainRun to the byte loop it replaced.
func FuzzPlainRun(f *testing.F) {
	for _, s := range []string{"", "abc", `abcdefgh"`, "\x00\x01\x1f\x20\x21\"\\\x7f\x80\xff", strings.Repeat("a\\\"", 9)} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		if got, want := plainRun(b, i), plainRunBefore(b, i); got != want {
			t.Errorf("plainRun(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

// BenchmarkPeekPrompt is the peek of a chat request with a 4 KiB system
// prompt (spillway bench --prompt-bytes 4096).
func BenchmarkPeekPrompt(b *testing.B) {
	body := bench.RequestBody("gpt-4o", 16, false, bench.Prompt(4096))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := peek(body); err != nil {
			b.Fatal(err)
		}
	}
}
