package bpe

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"testing"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// TestTablesMatchTiktoken compares each embedded table, token by token,
// with the .tiktoken file it was generated from.
func TestTablesMatchTiktoken(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		url := "https://openaipublic.blob.core.windows.net/encodings/" + name + ".tiktoken"
		want, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Loader{}.LoadTiktokenBpe(url)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d tokens, want %d", name, len(got), len(want))
		}
		for tok, rank := range want {
			if g, ok := got[tok]; !ok || g != rank {
				t.Errorf("%s: token %q has rank %d (present %v), want %d", name, tok, g, ok, rank)
				break
			}
		}
	}
}

func TestLoaderUnknownEncoding(t *testing.T) {
	if _, err := (Loader{}).LoadTiktokenBpe("p50k_base.tiktoken"); err == nil {
		t.Error("p50k_base loaded, want an error: it is not embedded")
	}
}

func deflate(t testing.TB, raw []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(raw)
	w.Close()
	return b.Bytes()
}

func TestDecodeCorrupt(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"not deflate", []byte("not a table")},
		{"length past the end", deflate(t, binary.AppendUvarint(nil, 9))},
		{"empty token", deflate(t, []byte{0})},
		{"duplicate", deflate(t, []byte{1, 'a', 1, 'a'})},
	}
	for _, tt := range tests {
		if got, err := Decode(tt.data); err == nil {
			t.Errorf("%s: Decode = %d tokens, want an error", tt.name, len(got))
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(deflate(f, []byte{1, 'a', 2, 'b', 'c'}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ranks, err := Decode(data)
		if err != nil {
			return
		}
		seen := make(map[int]bool, len(ranks))
		for tok, r := range ranks {
			if tok == "" || r < 0 || r >= len(ranks) || seen[r] {
				t.Fatalf("token %q rank %d of %d", tok, r, len(ranks))
			}
			seen[r] = true
		}
	})
}

// BenchmarkLoad compares loading o200k_base from the embedded table with
// parsing the .tiktoken text it replaces.
func BenchmarkLoad(b *testing.B) {
	const url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
	for _, l := range []struct {
		name string
		load func(string) (map[string]int, error)
	}{
		{"embedded", Loader{}.LoadTiktokenBpe},
		{"tiktoken-text", tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe},
	} {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.load(url); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
