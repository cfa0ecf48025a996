package bpe

import (
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// The pre-tokenizers' patterns, as tiktoken-go v0.1.8 (encoding.go)
// compiles them with regexp2.None, from OpenAI's tiktoken
// (tiktoken_ext/openai_public.py).
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

// Encoder tokenizes text in one encoding: a regular expression cuts it
// into pieces (words with the space before them, runs of digits, of
// punctuation, of spaces), and each piece that is not itself a token is
// byte-pair merged. Special tokens such as <|endoftext|> are not
// recognized: they are the plain text they are in a request. An Encoder is
// safe for concurrent use.
type Encoder struct {
	ranks  *Ranks
	pieces *regexp2.Regexp
}

func newEncoder(ranks *Ranks, pattern string) (*Encoder, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, err
	}
	return &Encoder{ranks: ranks, pieces: re}, nil
}

// Ranks returns the encoding's tokens.
func (e *Encoder) Ranks() *Ranks { return e.ranks }

// Count returns the number of tokens of text: len(EncodeOrdinary(text))
// without building the tokens. The byte-pair merge is quadratic in the
// length of a piece, so a long run of one character is slow: callers cut
// such text first.
func (e *Encoder) Count(text string) int {
	n := 0
	e.eachPiece(text, func(piece string) { n += e.ranks.count(piece) })
	return n
}

// EncodeOrdinary returns the tokens of text, as tiktoken's
// encode_ordinary does.
func (e *Encoder) EncodeOrdinary(text string) []int {
	var tokens []int
	e.eachPiece(text, func(piece string) { tokens = e.ranks.appendTokens(tokens, piece) })
	return tokens
}

// eachPiece calls f with each piece of text, in order. Text that is not
// valid UTF-8 is cut as tiktoken-go cuts it: each invalid byte becomes
// U+FFFD, as regexp2 reads it, and the pieces are made of the runes read.
func (e *Encoder) eachPiece(text string, f func(piece string)) {
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	runes := []rune(text)
	// The matches are in runes; bi follows ri in bytes. Runes between
	// matches (none, with these patterns) are skipped, as tiktoken skips
	// them.
	ri, bi := 0, 0
	m, err := e.pieces.FindRunesMatch(runes)
	for m != nil && err == nil {
		for ; ri < m.Index; ri++ {
			bi += utf8.RuneLen(runes[ri])
		}
		start := bi
		for end := m.Index + m.Length; ri < end; ri++ {
			bi += utf8.RuneLen(runes[ri])
		}
		f(text[start:bi])
		m, err = e.pieces.FindNextMatch(m)
	}
}
