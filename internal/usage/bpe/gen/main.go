// Command gen writes the compact BPE tables embedded in package bpe from
// OpenAI's .tiktoken files (one "base64(token) rank" line per token, ranks
// 0..n-1 in order). Run from the repository root:
//
//	go run ./internal/usage/bpe/gen DIR
//
// where DIR holds cl100k_base.tiktoken and o200k_base.tiktoken (the module
// github.com/pkoukk/tiktoken-go-loader ships them in its assets folder).
package main

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen DIR")
		os.Exit(2)
	}
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		if err := convert(os.Args[1], name); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

// convert writes internal/usage/bpe/NAME.bpe: each token's bytes in rank
// order, prefixed by its length as a uvarint, deflated.
func convert(dir, name string) error {
	src, err := os.ReadFile(filepath.Join(dir, name+".tiktoken"))
	if err != nil {
		return err
	}
	var raw []byte
	next := 0
	for line := range strings.Lines(string(src)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		tok, r, ok := strings.Cut(line, " ")
		if !ok {
			return fmt.Errorf("%s: line %d has no rank", name, next+1)
		}
		b, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", name, next+1, err)
		}
		// The format stores no ranks, so they must run 0..n-1.
		if rank, err := strconv.Atoi(r); err != nil || rank != next {
			return fmt.Errorf("%s: line %d: rank %q, want %d", name, next+1, r, next)
		}
		next++
		raw = binary.AppendUvarint(raw, uint64(len(b)))
		raw = append(raw, b...)
	}
	var out bytes.Buffer
	w, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	dst := filepath.Join("internal", "usage", "bpe", name+".bpe")
	fmt.Printf("%s: %d tokens, %d bytes (from %d)\n", dst, next, out.Len(), len(src))
	return os.WriteFile(dst, out.Bytes(), 0o644)
}
