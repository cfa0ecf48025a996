package bpe

import "math"

// part is where a part of a piece starts during the byte-pair merge, and
// the rank of the token it would make merged with the next part
// (math.MaxUint32: none).
type part struct {
	start uint32
	rank  uint32
}

// stackParts is the longest piece, plus one, whose merge needs no heap:
// the token estimator cuts text so that pieces stay shorter.
const stackParts = 256

// merge runs tiktoken's byte-pair merge on piece, which must be at least
// two bytes: start from single bytes and repeatedly merge the adjacent pair
// that makes the token of lowest rank, the leftmost on a tie, until no
// pair makes a token. It returns where each resulting token starts, then
// len(piece), in parts, which it may grow. It is quadratic in len(piece).
func (t *Ranks) merge(piece string, parts []part) []part {
	parts = parts[:0]
	for i := range len(piece) + 1 {
		parts = append(parts, part{start: uint32(i), rank: math.MaxUint32})
	}
	// rank is the rank of the token parts[i:j] make, merged.
	rank := func(i, j int) uint32 {
		if j >= len(parts) {
			return math.MaxUint32
		}
		if r, ok := t.Rank(piece[parts[i].start:parts[j].start]); ok {
			return uint32(r)
		}
		return math.MaxUint32
	}
	for i := range len(parts) - 2 {
		parts[i].rank = rank(i, i+2)
	}
	for len(parts) > 1 {
		low, i := uint32(math.MaxUint32), -1
		for k, p := range parts[:len(parts)-1] {
			if p.rank < low {
				low, i = p.rank, k
			}
		}
		if i < 0 {
			break
		}
		// parts[i] and parts[i+1] become one: its pairs with the parts
		// on either side make different tokens now.
		parts[i].rank = rank(i, i+3)
		if i > 0 {
			parts[i-1].rank = rank(i-1, i+2)
		}
		parts = append(parts[:i+1], parts[i+2:]...)
	}
	return parts
}

// count returns the number of tokens piece encodes to.
func (t *Ranks) count(piece string) int {
	if len(piece) < 2 {
		return len(piece) // every byte is a token
	}
	if _, ok := t.Rank(piece); ok {
		return 1
	}
	var buf [stackParts]part
	return len(t.merge(piece, buf[:0])) - 1
}

// appendTokens appends the ranks of the tokens piece encodes to.
func (t *Ranks) appendTokens(tokens []int, piece string) []int {
	if piece == "" {
		return tokens
	}
	if r, ok := t.Rank(piece); ok {
		return append(tokens, r)
	}
	if len(piece) < 2 {
		return append(tokens, 0) // not in the table, which a real one never lacks
	}
	var buf [stackParts]part
	parts := t.merge(piece, buf[:0])
	for i := range len(parts) - 1 {
		r, _ := t.Rank(piece[parts[i].start:parts[i+1].start])
		tokens = append(tokens, r)
	}
	return tokens
}
