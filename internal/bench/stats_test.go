package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one p50", ms(7), 50, 7 * time.Millisecond},
		{"one p99", ms(7), 99, 7 * time.Millisecond},
		{"two p50 is the lower", ms(1, 2), 50, 1 * time.Millisecond},
		{"three p50 is the middle", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"four p50", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p99.9", hundred, 99.9, 100 * time.Millisecond},
		{"hundred p1", hundred, 1, 1 * time.Millisecond},
		{"ten p99 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p0 is the min", ms(3, 4, 5), 0, 3 * time.Millisecond},
		{"p100 is the max", ms(3, 4, 5), 100, 5 * time.Millisecond},
		{"above 100 is the max", ms(3, 4, 5), 150, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSortedConcat(t *testing.T) {
	got := sortedConcat([][]time.Duration{{5, 1}, nil, {3}, {2, 4}})
	want := []time.Duration{1, 2, 3, 4, 5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestPerWorkerCap(t *testing.T) {
	tests := []struct {
		rate    float64
		d       time.Duration
		workers int
		want    int
	}{
		{0, 10 * time.Second, 64, 4096},
		{-1, 10 * time.Second, 64, 4096},
		{1000, 10 * time.Second, 10, 1500},
		{10, time.Second, 64, 256},
		{1e9, time.Hour, 1, 1 << 20},
		{1000, 10 * time.Second, 0, 15000},
	}
	for _, tt := range tests {
		if got := perWorkerCap(tt.rate, tt.d, tt.workers); got != tt.want {
			t.Errorf("perWorkerCap(%v, %v, %d) = %d, want %d", tt.rate, tt.d, tt.workers, got, tt.want)
		}
	}
}
