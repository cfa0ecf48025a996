// Package bpe counts tokens in OpenAI's byte-pair encodings cl100k_base and
// o200k_base for the token estimator, with no download and little memory.
// The tables are embedded in the binary in a compact form: each token's
// bytes in rank order, length-prefixed and deflated (1.6 MB for both,
// against 5.3 MB as .tiktoken text). Loaded, an encoding is one string of
// token bytes, their offsets and a hash table of ranks (Ranks): a few MiB
// without pointers, which the garbage collector never scans, where a
// map[string]int of the same tokens takes tens of MiB of strings and
// buckets it scans on every cycle. The tables come from OpenAI's tiktoken
// (MIT licence, Copyright (c) 2022 OpenAI, Shantanu Jain), through the
// .tiktoken files of github.com/pkoukk/tiktoken-go-loader v0.0.2; gen/
// rebuilds them.
package bpe

import (
	_ "embed"
	"fmt"
	"unsafe"
)

// The tables are strings, so they are in the binary's read-only data:
// release drops their pages once decoded, and a page of read-only data
// dropped is read again from the file unchanged (a []byte would be in
// writable data, where a write would be lost with its page).
var (
	//go:embed cl100k_base.bpe
	cl100k string
	//go:embed o200k_base.bpe
	o200k string
)

// encodings are the embedded encodings, by name.
var encodings = map[string]struct {
	table string
	piece func(text string, i int) int
}{
	"cl100k_base": {cl100k, cl100kPiece},
	"o200k_base":  {o200k, o200kPiece},
}

// Load returns the encoding named name, "cl100k_base" or "o200k_base",
// decoded from the embedded tables: some tens of milliseconds and a few MiB
// each. The Encoder is safe for concurrent use.
func Load(name string) (*Encoder, error) {
	e, ok := encodings[name]
	if !ok {
		return nil, fmt.Errorf("bpe: no embedded encoding %q", name)
	}
	// Decode only reads the table.
	table := unsafe.Slice(unsafe.StringData(e.table), len(e.table))
	ranks, err := Decode(table)
	release(table)
	if err != nil {
		return nil, fmt.Errorf("bpe: %s: %w", name, err)
	}
	return &Encoder{ranks: ranks, piece: e.piece}, nil
}
