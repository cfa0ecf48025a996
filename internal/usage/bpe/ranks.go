package bpe

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
)

// Ranks maps the tokens of an encoding to their ranks (token ids). It holds
// no pointers but its three arrays: the tokens' bytes in rank order, where
// each token starts, and an open-addressing hash table of ranks keyed by
// the tokens' bytes. Lookups do not allocate.
type Ranks struct {
	tokens  []byte   // every token's bytes, in rank order
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
	return string(t.token(r))
}

func (t *Ranks) token(r int) []byte {
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
		if string(t.tokens[t.offsets[s-1]:t.offsets[s]]) == tok {
			return int(s - 1), true
		}
	}
}

// Decode reads a table in the embedded format: each token's bytes in rank
// order, prefixed by their length as a uvarint, deflated. It inflates the
// table twice, first to size the arrays, then to fill them, so that loading
// leaves no garbage but the inflater's: the decompressed table would be as
// large as the tokens, and growing the arrays as they fill twice that,
// which the heap would keep (and the process's RSS) long after.
func Decode(data []byte) (*Ranks, error) {
	n, size := 0, 0
	err := readTable(data, func(r *bufio.Reader, l int) error {
		n, size = n+1, size+l
		if n >= math.MaxUint32/2 || size >= math.MaxUint32 {
			return errors.New("table too large")
		}
		_, err := r.Discard(l)
		return err
	})
	if err != nil {
		return nil, err
	}
	tokens := make([]byte, size)
	offsets := make([]uint32, 1, n+1)
	end := 0
	err = readTable(data, func(r *bufio.Reader, l int) error {
		if end+l > len(tokens) || len(offsets) > n {
			return errors.New("table changed between reads")
		}
		if _, err := io.ReadFull(r, tokens[end:end+l]); err != nil {
			return err
		}
		end += l
		offsets = append(offsets, uint32(end))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slots := 1
	for slots < 2*n {
		slots <<= 1
	}
	t := &Ranks{
		tokens:  tokens,
		offsets: offsets,
		slots:   make([]uint32, slots),
		mask:    uint64(slots - 1),
		seed:    maphash.MakeSeed(),
	}
	for r := range n {
		tok := t.token(r)
		i := maphash.Bytes(t.seed, tok) & t.mask
		for ; t.slots[i] != 0; i = (i + 1) & t.mask {
			if bytes.Equal(t.token(int(t.slots[i]-1)), tok) {
				return nil, fmt.Errorf("corrupt table: token %q appears twice", tok)
			}
		}
		t.slots[i] = uint32(r + 1)
	}
	return t, nil
}

// readTable inflates a table and calls token with each token's length, for
// it to read or skip the token's bytes from r.
func readTable(data []byte, token func(r *bufio.Reader, l int) error) error {
	r := bufio.NewReader(flate.NewReader(bytes.NewReader(data)))
	for {
		l, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corrupt table: %w", err)
		}
		if l == 0 || l > math.MaxUint32 {
			return fmt.Errorf("corrupt table: a token of %d bytes", l)
		}
		if err := token(r, int(l)); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errors.New("corrupt table: a token runs past the end")
			}
			return err
		}
	}
}
