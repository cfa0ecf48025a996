package store

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestUsagePartitionBound reads the bounds pg_get_expr prints.
func TestUsagePartitionBound(t *testing.T) {
	for _, tc := range []struct {
		in       string
		from, to int64
		ok       bool
	}{
		{"FOR VALUES FROM ('1793491200000') TO ('1793577600000')", 1793491200000, 1793577600000, true},
		{"FOR VALUES FROM (1793491200000) TO (1793577600000)", 1793491200000, 1793577600000, true},
		{"FOR VALUES FROM (MINVALUE) TO ('1793577600000')", math.MinInt64, 1793577600000, true},
		{"FOR VALUES FROM ('-86400000') TO (MAXVALUE)", -86400000, math.MaxInt64, true},
		{"DEFAULT", 0, 0, false},
		{"FOR VALUES IN ('a')", 0, 0, false},
		{"FOR VALUES FROM ('x') TO ('1')", 0, 0, false},
	} {
		from, to, err := parsePartitionBound(tc.in)
		if got, want := err == nil, tc.ok; got != want {
			t.Errorf("parsePartitionBound(%q) error = %v, want ok %v", tc.in, err, want)
			continue
		}
		if tc.ok && (from != tc.from || to != tc.to) {
			t.Errorf("parsePartitionBound(%q) = %d, %d; want %d, %d", tc.in, from, to, tc.from, tc.to)
		}
	}
}

// TestUsagePartitionName names days by date, and days outside years 1 to
// 9999 by number, always as a valid unquoted identifier.
func TestUsagePartitionName(t *testing.T) {
	for _, tc := range []struct {
		day  time.Time
		want string
	}{
		{time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), "usage_20261120"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "usage_19700101"},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), "usage_19691231"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), fmt.Sprintf("usage_d%d", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()/msPerDay)},
		{time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), fmt.Sprintf("usage_dm%d", -time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()/msPerDay)},
	} {
		day := floorDiv(tc.day.UnixMilli(), usagePartitionSpan)
		if got := usagePartitionName(day); got != tc.want {
			t.Errorf("usagePartitionName(%v) = %q, want %q", tc.day, got, tc.want)
		}
	}
}

// FuzzUsagePartitionBound: any text parses or fails without panicking,
// and a range of two numbers reads back as written.
func FuzzUsagePartitionBound(f *testing.F) {
	f.Add("FOR VALUES FROM ('1') TO ('2')", int64(1), int64(2))
	f.Add("FOR VALUES FROM (MINVALUE) TO (MAXVALUE)", int64(-5), int64(5))
	f.Fuzz(func(t *testing.T, s string, a, b int64) {
		_, _, _ = parsePartitionBound(s)
		in := fmt.Sprintf("FOR VALUES FROM ('%d') TO (%d)", a, b)
		from, to, err := parsePartitionBound(in)
		if err != nil || from != a || to != b {
			t.Errorf("parsePartitionBound(%q) = %d, %d, %v; want %d, %d", in, from, to, err, a, b)
		}
	})
}
