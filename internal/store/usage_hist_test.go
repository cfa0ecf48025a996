package store

import (
	"slices"
	"strconv"
	"testing"
)

func TestMergeHist(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"", "", ""},
		{"3:1", "", "3:1"},
		{"", "3:1", "3:1"},
		{"3:1,7:2", "3:4", "3:5,7:2"},
		{"1:1,9:9", "2:2,9:1,200:5", "1:1,2:2,9:10,200:5"},
	} {
		got, err := mergeHist(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("mergeHist(%q, %q) = %q, %v; want %q", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x", "3", "3:", ":4", "3:4;"} {
		if got, err := mergeHist(bad, "1:1"); err == nil {
			t.Errorf("mergeHist(%q, \"1:1\") = %q, nil; want an error", bad, got)
		}
	}
}

func TestAddHistMatchesEncode(t *testing.T) {
	var h []histCount
	for _, b := range []int{5, 1, 5, LatencyBuckets - 1, 0} {
		h = histAddOne(h, b)
	}
	enc := encodeHist(h)
	if want := "0:1,1:1,5:2," + strconv.Itoa(LatencyBuckets-1) + ":1"; enc != want {
		t.Fatalf("encodeHist = %q, want %q", enc, want)
	}
	dense := make([]int64, LatencyBuckets)
	if err := addHist(dense, enc); err != nil {
		t.Fatal(err)
	}
	for b, want := range map[int]int64{0: 1, 1: 1, 5: 2, LatencyBuckets - 1: 1, 2: 0} {
		if got := dense[b]; got != want {
			t.Errorf("bucket %d: got %d, want %d", b, got, want)
		}
	}
}

func FuzzMergeHist(f *testing.F) {
	f.Add("3:1,7:2", "3:4")
	f.Add("", "1:1")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := mergeHist(a, b)
		if err != nil {
			return
		}
		// A merge is a histogram again, holding both counts.
		da, db, dg := make([]int64, LatencyBuckets), make([]int64, LatencyBuckets), make([]int64, LatencyBuckets)
		if addHist(da, a) != nil || addHist(db, b) != nil {
			return
		}
		if err := addHist(dg, got); err != nil {
			t.Fatalf("mergeHist(%q, %q) = %q, which does not parse: %v", a, b, got, err)
		}
		for i := range dg {
			if dg[i] != da[i]+db[i] {
				t.Fatalf("mergeHist(%q, %q) = %q: bucket %d holds %d, want %d", a, b, got, i, dg[i], da[i]+db[i])
			}
		}
	})
}

func TestHistMerge(t *testing.T) {
	type h = []histCount
	for _, tc := range []struct {
		name    string
		a, b    h
		want    h
		inPlace bool // the answer is a itself
	}{
		{"both empty", nil, nil, nil, false},
		{"b empty", h{{3, 1}}, nil, h{{3, 1}}, true},
		{"a empty", nil, h{{3, 1}, {5, 2}}, h{{3, 1}, {5, 2}}, false},
		{"same buckets", h{{3, 1}, {5, 2}}, h{{3, 4}, {5, 1}}, h{{3, 5}, {5, 3}}, true},
		{"b within a", h{{1, 1}, {3, 1}, {5, 2}}, h{{3, 4}}, h{{1, 1}, {3, 5}, {5, 2}}, true},
		{"b before a", h{{5, 2}}, h{{0, 1}}, h{{0, 1}, {5, 2}}, false},
		{"b after a", h{{5, 2}}, h{{9, 1}}, h{{5, 2}, {9, 1}}, false},
		{"interleaved", h{{1, 1}, {4, 1}, {9, 1}}, h{{0, 2}, {4, 2}, {5, 2}, {10, 2}}, h{{0, 2}, {1, 1}, {4, 3}, {5, 2}, {9, 1}, {10, 2}}, false},
	} {
		bBefore := slices.Clone(tc.b)
		a := slices.Clone(tc.a)
		got := histMerge(a, tc.b)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: histMerge(%v, %v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.want)
		}
		if inPlace := len(got) > 0 && len(a) > 0 && &got[0] == &a[0]; inPlace != tc.inPlace {
			t.Errorf("%s: answer is a itself: %v, want %v", tc.name, inPlace, tc.inPlace)
		}
		if !slices.Equal(tc.b, bBefore) {
			t.Errorf("%s: b changed to %v, want %v", tc.name, tc.b, bBefore)
		}
	}
}
