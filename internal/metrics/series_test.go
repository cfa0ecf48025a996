package metrics

import (
	"fmt"
	"sync"
	"testing"
)

// TestCowMapGet checks that every caller of a key gets the one value made
// for it, however many keys are added meanwhile by others.
func TestCowMapGet(t *testing.T) {
	var c cowMap[requestLabels, requestSeries]
	const workers, keys = 8, 64
	got := make([][]*requestSeries, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range keys {
				// Each worker walks the keys from its own place.
				i := (k + w*keys/workers) % keys
				got[w] = append(got[w], c.get(requestLabels{model: fmt.Sprint("m", i), status: "200"}))
			}
		})
	}
	wg.Wait()
	want := make(map[string]*requestSeries)
	for w := range workers {
		for k, s := range got[w] {
			i := (k + w*keys/workers) % keys
			name := fmt.Sprint("m", i)
			if s == nil {
				t.Fatalf("worker %d key %s: got nil", w, name)
			}
			if prev, ok := want[name]; ok && prev != s {
				t.Fatalf("key %s: got two values %p and %p, want one", name, prev, s)
			}
			want[name] = s
		}
	}
	if n := len(*c.m.Load()); n != keys {
		t.Errorf("map holds %d keys, want %d", n, keys)
	}
	if s := c.get(requestLabels{model: "m0", status: "200"}); s != want["m0"] {
		t.Errorf("get after the race: got %p, want %p", s, want["m0"])
	}
}
