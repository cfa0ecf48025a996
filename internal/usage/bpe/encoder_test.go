package bpe

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// reference returns tiktoken-go's tokenizer for encoding name, loaded from
// tiktoken-go-loader's copy of the .tiktoken files, and ours.
func reference(t testing.TB, name string) (*tiktoken.Tiktoken, *Encoder) {
	t.Helper()
	referenceOnce.Do(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		for _, n := range []string{"cl100k_base", "o200k_base"} {
			tk, err := tiktoken.GetEncoding(n)
			if err != nil {
				panic(err)
			}
			e, err := Load(n)
			if err != nil {
				panic(err)
			}
			references[n] = referencePair{tk, e}
		}
	})
	p := references[name]
	return p.tk, p.enc
}

type referencePair struct {
	tk  *tiktoken.Tiktoken
	enc *Encoder
}

var (
	referenceOnce sync.Once
	references    = map[string]referencePair{}
)

// texts are varied inputs for comparing with tiktoken-go.
var texts = []string{
	"",
	"hello world",
	"tiktoken is great!",
	"antidisestablishmentarianism",
	"The quick brown fox jumps over the lazy dog. It's 3.14159 o'clock; we'll see, won't we? I'M SURE THEY'D'VE",
	"You'll, you'LL, YOU'll, they've, she'd, 'rer, x'y, don't'",
	"func (t *Ranks) Rank(tok string) (int, bool) {\n\tfor i := 0; i < n; i++ {\n\t\treturn x[i] >= 0x7f\n\t}\n}\n",
	"<html>\r\n  <body class=\"main\">&nbsp;&amp;</body>\r\n</html>\r\n",
	"SELECT id, name FROM users WHERE age >= 21 AND email LIKE '%@example.com'; -- comment",
	"https://example.com/path/to/file.json?query=1&x=y#frag //// ////\n",
	"お誕生日おめでとう", "hello world!你好，世界！", "Привет, мир! Как дела?", "مرحبا بالعالم", "नमस्ते दुनिया", "한국어 텍스트입니다",
	"naïve café cafe\u0301 Ångström ÆØÅ ß ﬁ İstanbul",
	"👍", "👍🏽👨‍👩‍👧‍👦🇫🇷 emoji 😀😀😀 ✨",
	"1234567890 12 345 6789 3.14 1,000,000 ١٢٣٤ ⅷ ²³",
	" \u00850", "today\n ", "today\n \n", "today\n  \n", "a\u00a0 b", "a\u3000b", "\t\t\tindented\n\n\n   \n",
	strings.Repeat(" ", 100), strings.Repeat("\n", 50), strings.Repeat(" \n", 40), strings.Repeat("\t ", 30) + "x",
	strings.Repeat("a", 300), strings.Repeat("=", 200), strings.Repeat("é", 150), strings.Repeat("お", 100), strings.Repeat("0", 100),
	strings.Repeat("ab", 150), strings.Repeat("!?", 100),
	"<|endoftext|> is plain text here <|fim_prefix|><|endofprompt|>",
	"invalid \xff\xfe bytes \xc3 and a cut rune \xe3\x81",
	"\x00\x01\x02 control \x7f chars \u200b zero width \ufeff",
	"MixedCaseWordsLikeThis and camelCase, snake_case, SCREAMING_CASE, Title Case",
}

// Our counts and tokens are tiktoken-go's, in both encodings.
func TestEncoderMatchesTiktoken(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		tk, enc := reference(t, name)
		for _, text := range texts {
			want := tk.EncodeOrdinary(text)
			if got := enc.Count(text); got != len(want) {
				t.Errorf("%s: Count(%.40q) = %d, want %d", name, text, got, len(want))
			}
			if got := enc.EncodeOrdinary(text); !slices.Equal(got, want) {
				t.Errorf("%s: EncodeOrdinary(%.40q) = %v, want %v", name, text, got, want)
			}
		}
	}
}

func FuzzEncoderMatchesTiktoken(f *testing.F) {
	for _, text := range texts {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1024 {
			return // the byte-pair merge is quadratic: keep each run quick
		}
		for _, name := range []string{"cl100k_base", "o200k_base"} {
			tk, enc := reference(t, name)
			want := tk.EncodeOrdinary(text)
			if got := enc.Count(text); got != len(want) {
				t.Fatalf("%s: Count(%q) = %d, want %d", name, text, got, len(want))
			}
			if got := enc.EncodeOrdinary(text); !slices.Equal(got, want) {
				t.Fatalf("%s: EncodeOrdinary(%q) = %v, want %v", name, text, got, want)
			}
		}
	})
}
