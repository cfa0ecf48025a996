package bpe

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// The patterns as tiktoken-go v0.1.8 (encoding.go) compiles them, with
// regexp2.None: the reference the pre-tokenizers are compared with.
const (
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	o200kPattern  = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|\p{N}{1,3}` +
		`| ?[^\s\p{L}\p{N}]+[\r\n/]*` +
		`|\s*[\r\n]+` +
		`|\s+(?!\S)` +
		`|\s+`
)

var splitters = []struct {
	name  string
	piece func(string, int) int
	re    *regexp2.Regexp
}{
	{"cl100k_base", cl100kPiece, regexp2.MustCompile(cl100kPattern, regexp2.None)},
	{"o200k_base", o200kPiece, regexp2.MustCompile(o200kPattern, regexp2.None)},
}

// regexpPieces cuts valid UTF-8 text with re, as tiktoken-go does.
func regexpPieces(re *regexp2.Regexp, text string) []string {
	runes := []rune(text)
	var pieces []string
	m, _ := re.FindRunesMatch(runes)
	for m != nil {
		pieces = append(pieces, string(runes[m.Index:m.Index+m.Length]))
		m, _ = re.FindNextMatch(m)
	}
	return pieces
}

func ourPieces(piece func(string, int) int, text string) []string {
	var pieces []string
	for i := 0; i < len(text); {
		end := piece(text, i)
		if end <= i || end > len(text) {
			panic("no progress")
		}
		pieces = append(pieces, text[i:end])
		i = end
	}
	return pieces
}

func checkSplit(t *testing.T, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	for _, s := range splitters {
		want := regexpPieces(s.re, text)
		if got := ourPieces(s.piece, text); !slices.Equal(got, want) {
			t.Fatalf("%s: pieces of %q = %q, want %q", s.name, text, got, want)
		}
	}
}

func TestSplitMatchesPattern(t *testing.T) {
	for _, text := range texts {
		checkSplit(t, text)
	}
}

// splitAlphabet has characters of every class the patterns tell apart,
// and the ones they name: each letter case, marks, numbers, each kind of
// whitespace, apostrophes and contraction letters, slashes.
var splitAlphabet = []string{
	"a", "z", "s", "S", "t", "T", "r", "R", "e", "E", "v", "m", "l", "L", "d", "D", // ASCII letters
	"A", "Z", "é", "É", "ǅ", "ʰ", "ー", "漢", "ß", "ﬁ", "Σ", "ς", // Lu Ll Lt Lm Lo
	"\u0301", "\u0903", "\u20dd", // Mn Mc Me
	"0", "9", "٣", "Ⅻ", "½", "²", // Nd Nl No
	" ", " ", " ", "\t", "\n", "\r", "\v", "\f", "\u0085", "\u00a0", "\u2028", "\u3000", "\u200b",
	"'", "’", "/", "!", ".", ",", "-", "_", "\"", "<", "|", "😀", "\ufffd", "\x00",
}

// Random strings over splitAlphabet, which make every alternative and
// every way of backtracking in the patterns meet every neighbour.
func TestSplitMatchesPatternRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	for range 20000 {
		b.Reset()
		for range 1 + r.IntN(12) {
			b.WriteString(splitAlphabet[r.IntN(len(splitAlphabet))])
		}
		checkSplit(t, b.String())
	}
}

func FuzzSplitMatchesPattern(f *testing.F) {
	for _, text := range texts {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkSplit(t, text)
	})
}

// Cutting text into pieces does not allocate.
func TestSplitDoesNotAllocate(t *testing.T) {
	text := strings.Join(texts, " ")
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	for _, s := range splitters {
		n := testing.AllocsPerRun(10, func() {
			for i := 0; i < len(text); {
				i = s.piece(text, i)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations, want 0", s.name, n)
		}
	}
}
