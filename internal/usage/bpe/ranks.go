package bpe

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strings"
)

// Ranks maps the tokens of an encoding to their ranks (token ids). It holds
// no pointers but its three arrays: the tokens' bytes in rank order, where
// each token starts, and an open-addressing hash table of ranks keyed by
// the tokens' bytes. Lookups do not allocate.
type Ranks struct {
	tokens  string   // every token's bytes, in rank order
	offsets []uint32 // token r is tokens[offsets[r]:offsets[r+1]]
	// slots is a hash table with linear probing and at least half its
	// slots empty: each holds a rank plus one, 0 for an empty slot.
	slots []uint32
	mask  uint64 // len(slots)-1, a power of two minus one
	seed  maphash.Seed
}

// Len returns the number of tokens.
func (t *Ranks) Len() int { return len(t.offsets) - 1 }

// Token returns the bytes of the token of rank r, which must be below Len.
func (t *Ranks) Token(r int) string {
	return t.tokens[t.offsets[r]:t.offsets[r+1]]
}

// Rank returns the rank of the token whose bytes are tok, and whether
// there is one.
func (t *Ranks) Rank(tok string) (int, bool) {
	for i := maphash.String(t.seed, tok) & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if t.tokens[t.offsets[s-1]:t.offsets[s]] == tok {
			return int(s - 1), true
		}
	}
}

// Decode reads a table in the embedded format: each token's bytes in rank
// order, prefixed by their length as a uvarint, deflated.
func Decode(data []byte) (*Ranks, error) {
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	// A first pass sizes the arrays exactly, so that none grows by copying
	// and the raw table is the only garbage loading leaves.
	n, size := 0, 0
	for rest := raw; len(rest) > 0; n++ {
		l, w := binary.Uvarint(rest)
		if w <= 0 || l == 0 || l > uint64(len(rest)-w) {
			return nil, errors.New("corrupt table")
		}
		size += int(l)
		rest = rest[w+int(l):]
	}
	if size >= math.MaxUint32 || n >= math.MaxUint32/2 {
		return nil, fmt.Errorf("table too large: %d tokens of %d bytes", n, size)
	}
	var tokens strings.Builder
	tokens.Grow(size)
	offsets := make([]uint32, 1, n+1)
	for rest := raw; len(rest) > 0; {
		l, w := binary.Uvarint(rest)
		tokens.Write(rest[w : w+int(l)])
		offsets = append(offsets, uint32(tokens.Len()))
		rest = rest[w+int(l):]
	}
	slots := 1
	for slots < 2*n {
		slots <<= 1
	}
	t := &Ranks{
		tokens:  tokens.String(),
		offsets: offsets,
		slots:   make([]uint32, slots),
		mask:    uint64(slots - 1),
		seed:    maphash.MakeSeed(),
	}
	for r := range n {
		tok := t.Token(r)
		i := maphash.String(t.seed, tok) & t.mask
		for ; t.slots[i] != 0; i = (i + 1) & t.mask {
			if t.Token(int(t.slots[i]-1)) == tok {
				return nil, fmt.Errorf("corrupt table: token %q appears twice", tok)
			}
		}
		t.slots[i] = uint32(r + 1)
	}
	return t, nil
}
