package bench

import (
	"os"
	"runtime"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\tspillway\nVmPeak:\t 1234 kB\nVmHWM:\t   23456 kB\nVmRSS:\t 20000 kB\n", 23456 << 10, false},
		{"spaces", "VmHWM: 1 kB", 1024, false},
		{"zero", "VmHWM:\t0 kB\n", 0, false},
		{"missing", "Name:\tx\nVmRSS:\t 20000 kB\n", 0, true},
		{"empty", "", 0, true},
		{"bad number", "VmHWM:\tlots kB\n", 0, true},
		{"bad unit", "VmHWM:\t12 MB\n", 0, true},
		{"no unit", "VmHWM:\t12\n", 0, true},
		{"negative", "VmHWM:\t-12 kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmHWM(tt.status)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseVmHWM(%q) error = %v, want error %v", tt.status, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseVmHWM(%q) = %d, want %d", tt.status, got, tt.want)
			}
		})
	}
}

func TestPeakRSSSelf(t *testing.T) {
	got, err := PeakRSS(os.Getpid())
	if runtime.GOOS != "linux" {
		if err == nil {
			t.Errorf("PeakRSS on %s: got %d and no error, want an error", runtime.GOOS, got)
		}
		return
	}
	if err != nil || got <= 0 {
		t.Errorf("PeakRSS(self) = %d, %v; want > 0, nil", got, err)
	}
}

func TestParseLoadAvg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.77 3.00 2.70 2/345 26705\n", "0.77 3.00 2.70"},
		{"1.5 1.0 0.5", "1.5 1.0 0.5"},
		{"", ""},
		{"0.77 3.00", ""},
		{"a b c d", ""},
	}
	for _, tt := range tests {
		if got := ParseLoadAvg(tt.in); got != tt.want {
			t.Errorf("ParseLoadAvg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
