// Package bpe holds OpenAI's byte-pair encodings cl100k_base and o200k_base
// for the token estimator, in a compact form embedded in the binary: each
// token's bytes in rank order, length-prefixed and deflated (1.6 MB for
// both, against 5.3 MB as .tiktoken text). The tables come from OpenAI's
// tiktoken (MIT licence, Copyright (c) 2022 OpenAI, Shantanu Jain), through
// the .tiktoken files of github.com/pkoukk/tiktoken-go-loader v0.0.2;
// gen/ rebuilds them.
package bpe

import (
	"bytes"
	"compress/flate"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

var (
	//go:embed cl100k_base.bpe
	cl100k []byte
	//go:embed o200k_base.bpe
	o200k []byte
)

// tables names the embedded encodings by their .tiktoken file names.
var tables = map[string][]byte{
	"cl100k_base": cl100k,
	"o200k_base":  o200k,
}

// Loader gives tiktoken-go the embedded encodings (tiktoken.SetBpeLoader).
// It never reads a file or the network.
type Loader struct{}

// LoadTiktokenBpe returns the ranks of the encoding a .tiktoken file name
// or URL names, such as
// https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken.
func (Loader) LoadTiktokenBpe(file string) (map[string]int, error) {
	name := strings.TrimSuffix(path.Base(file), ".tiktoken")
	data, ok := tables[name]
	if !ok {
		return nil, fmt.Errorf("bpe: no embedded encoding %q", name)
	}
	return Decode(data)
}

// Decode reads a table in the embedded format into tiktoken's form: token
// bytes to rank.
func Decode(data []byte) (map[string]int, error) {
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("bpe: %w", err)
	}
	// One string holds every token; the map's keys are slices of it.
	rest := string(raw)
	ranks := make(map[string]int, len(rest)/6)
	for rank := 0; rest != ""; rank++ {
		n, w := binary.Uvarint([]byte(rest[:min(len(rest), binary.MaxVarintLen64)]))
		if w <= 0 || n == 0 || n > uint64(len(rest)-w) {
			return nil, errors.New("bpe: corrupt table")
		}
		tok := rest[w : w+int(n)]
		if _, dup := ranks[tok]; dup {
			return nil, errors.New("bpe: corrupt table: a token appears twice")
		}
		ranks[tok] = rank
		rest = rest[w+int(n):]
	}
	return ranks, nil
}
