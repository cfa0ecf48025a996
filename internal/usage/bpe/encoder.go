package bpe

import "unicode/utf8"

// Encoder tokenizes text in one encoding: a pre-tokenizer cuts it into
// pieces as the encoding's regular expression does (words with the space
// before them, runs of digits, of punctuation, of spaces; see split.go),
// and each piece that is not itself a token is byte-pair merged. Special
// tokens such as <|endoftext|> are not recognized: they are the plain text
// they are in a request. An Encoder is safe for concurrent use.
type Encoder struct {
	ranks *Ranks
	// piece returns where the piece of text that starts at i ends.
	piece func(text string, i int) int
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
// valid UTF-8 is cut as tiktoken-go cuts it: regexp2 reads each invalid
// byte as U+FFFD, and the pieces are made of the runes it read.
func (e *Encoder) eachPiece(text string, f func(piece string)) {
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	for i := 0; i < len(text); {
		end := e.piece(text, i)
		f(text[i:end])
		i = end
	}
}
