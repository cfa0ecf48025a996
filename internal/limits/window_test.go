package limits_test

import (
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

func TestSameWindow(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b time.Time
		d    time.Duration
		want bool
	}{
		{"same instant", base, base, time.Minute, true},
		{"end of the minute", base, base.Add(59*time.Second + 999*time.Millisecond), time.Minute, true},
		{"next minute", base.Add(59 * time.Second), base.Add(time.Minute), time.Minute, false},
		{"same UTC day", base, base.Add(11 * time.Hour), 24 * time.Hour, true},
		{"past UTC midnight", base, base.Add(12 * time.Hour), 24 * time.Hour, false},
		{"before the epoch", time.UnixMilli(-1), time.UnixMilli(0), time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := limits.SameWindow(tt.a, tt.b, tt.d); got != tt.want {
				t.Errorf("SameWindow(%v, %v, %v) = %v, want %v", tt.a, tt.b, tt.d, got, tt.want)
			}
		})
	}
}
