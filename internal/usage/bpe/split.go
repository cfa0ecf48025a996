package bpe

import (
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizers cut text into pieces as tiktoken's regular
// expressions do (tiktoken_ext/openai_public.py; tiktoken-go v0.1.8 runs
// the same with regexp2, a backtracking engine, options None), without a
// regular expression engine: no allocation, and some ten times faster
// than regexp2 on prose. cl100k_base's pattern is
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// and o200k_base's the alternation of
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	\p{N}{1,3}
//	 ?[^\s\p{L}\p{N}]+[\r\n/]*
//	\s*[\r\n]+
//	\s+(?!\S)
//	\s+
//
// Each function below returns where the piece starting at i ends, taking
// the alternatives in order and, within one, the first way the engine's
// backtracking finds; the tests compare them with regexp2 on the patterns
// themselves. Every character starts some alternative (a letter, a
// number, whitespace, or anything else for " ?[^\s\p{L}\p{N}]+"), so the
// pieces cover the text. The text must be valid UTF-8.

// class is what the patterns ask of a character: its Unicode category as
// regexp2 reads \p{..} (Go's unicode tables) and whether it is \s
// (unicode.IsSpace). A character with none of these bits is "other".
type class uint8

const (
	upper    class = 1 << iota // Lu, Lt
	lower                      // Ll
	modOther                   // Lm, Lo
	mark                       // M
	number                     // N
	space                      // \s
	newline                    // \r, \n (also space)

	letter = upper | lower | modOther // \p{L}
	// notPrefix: [^\r\n\p{L}\p{N}] is a character with none of these.
	notPrefix = letter | number | newline
	// notOther: [^\s\p{L}\p{N}] is a character with none of these.
	notOther = letter | number | space
	// caseFirst and caseRest are o200k_base's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
	// and [\p{Ll}\p{Lm}\p{Lo}\p{M}].
	caseFirst = upper | modOther | mark
	caseRest  = lower | modOther | mark
)

func classify(r rune) class {
	switch {
	case r == '\r' || r == '\n':
		return space | newline
	case unicode.IsLetter(r):
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			return upper
		case unicode.IsLower(r):
			return lower
		}
		return modOther
	case unicode.IsMark(r):
		return mark
	case unicode.IsNumber(r):
		return number
	case unicode.IsSpace(r):
		return space
	}
	return 0
}

var asciiClass = func() (t [utf8.RuneSelf]class) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = classify(r)
	}
	return t
}()

// at returns the class and width of the character at s[i].
func at(s string, i int) (class, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classify(r), w
}

// spanAny returns where the run of characters from i with any of the bits
// of want ends.
func spanAny(s string, i int, want class) int {
	for i < len(s) {
		c, w := at(s, i)
		if c&want == 0 {
			break
		}
		i += w
	}
	return i
}

// spanNone returns where the run of characters from i with none of the
// bits of unwanted ends.
func spanNone(s string, i int, unwanted class) int {
	for i < len(s) {
		c, w := at(s, i)
		if c&unwanted != 0 {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at i, or
// 0. Only ASCII letters fold to these under unicode.ToLower, as regexp2
// compares case-insensitively.
func contraction(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// digits returns the end of \p{N}{1,3} at i, where a number starts.
func digits(s string, i int) int {
	_, w := at(s, i)
	i += w
	for range 2 {
		if i == len(s) {
			break
		}
		c, w := at(s, i)
		if c&number == 0 {
			break
		}
		i += w
	}
	return i
}

// whitespace returns the end of \s*[\r\n]+|\s+(?!\S)|\s+ at i, where
// whitespace starts: through the last newline of the run if it has one,
// else the whole run at the end of the text, else all but the run's last
// character (which goes with the word after it) if that leaves any.
func whitespace(s string, i int) int {
	end, last, nl := i, i, -1
	for end < len(s) {
		c, w := at(s, end)
		if c&space == 0 {
			break
		}
		if c&newline != 0 {
			nl = end
		}
		last = end
		end += w
	}
	switch {
	case nl >= 0:
		return nl + 1
	case end == len(s) || last == i:
		return end
	}
	return last
}

// cl100kPiece returns the end of cl100k_base's piece at i.
func cl100kPiece(s string, i int) int {
	if n := contraction(s, i); n > 0 {
		return i + n
	}
	c, w := at(s, i)
	if c&letter != 0 {
		return spanAny(s, i+w, letter)
	}
	if c&notPrefix == 0 && i+w < len(s) {
		if c2, w2 := at(s, i+w); c2&letter != 0 {
			return spanAny(s, i+w+w2, letter)
		}
	}
	if c&number != 0 {
		return digits(s, i)
	}
	if end := punctuation(s, i, c); end > i {
		return spanNewlines(s, end, false)
	}
	return whitespace(s, i)
}

// punctuation returns the end of " ?[^\s\p{L}\p{N}]+" at i, whose
// character is of class c, or i if there is none.
func punctuation(s string, i int, c class) int {
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		j = i + 1
		c, _ = at(s, j)
	}
	if c&notOther != 0 {
		return i
	}
	return spanNone(s, j, notOther)
}

// spanNewlines returns the end of [\r\n]* at i, or of [\r\n/]* with slash.
func spanNewlines(s string, i int, slash bool) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n' || slash && s[i] == '/') {
		i++
	}
	return i
}

// o200kPiece returns the end of o200k_base's piece at i.
func o200kPiece(s string, i int) int {
	c, w := at(s, i)
	prefixed := c&notPrefix == 0 && i+w < len(s)
	if prefixed {
		if end := caseWord(s, i+w); end > i+w {
			return end
		}
	}
	if end := caseWord(s, i); end > i {
		return end
	}
	if prefixed {
		if end := capsWord(s, i+w); end > i+w {
			return end
		}
	}
	if end := capsWord(s, i); end > i {
		return end
	}
	if c&number != 0 {
		return digits(s, i)
	}
	if end := punctuation(s, i, c); end > i {
		return spanNewlines(s, end, true)
	}
	return whitespace(s, i)
}

// caseWord returns the end of
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ and an
// optional contraction at i, or i if there is none. The first class is
// taken greedily; when no character of the second follows, the engine
// backtracks to the last character of the run that is in both.
func caseWord(s string, i int) int {
	end, lastRest := i, -1
	for end < len(s) {
		c, w := at(s, end)
		if c&caseFirst == 0 {
			break
		}
		if c&caseRest != 0 {
			lastRest = end + w
		}
		end += w
	}
	if end < len(s) {
		if c, _ := at(s, end); c&caseRest != 0 {
			return withContraction(s, spanAny(s, end, caseRest))
		}
	}
	if lastRest < 0 {
		return i
	}
	return withContraction(s, lastRest)
}

// capsWord returns the end of
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* and an
// optional contraction at i, or i if there is none.
func capsWord(s string, i int) int {
	end := spanAny(s, i, caseFirst)
	if end == i {
		return i
	}
	return withContraction(s, spanAny(s, end, caseRest))
}

func withContraction(s string, i int) int {
	return i + contraction(s, i)
}
