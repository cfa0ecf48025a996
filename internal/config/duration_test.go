package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"1m30s", 90 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"30", 30 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{" 2h ", 2 * time.Hour},
		{"0", 0},
		{"-1s", -time.Second},
		{"-3", -3 * time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got.D() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "30 seconds", "s", "1e300", "NaN", "inf", "5d"} {
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), "use a Go duration such as 30s or a number of seconds") {
			t.Errorf("ParseDuration(%q) error = %v, want one that says how to write a duration", in, err)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		A, B, C Duration
	}
	if err := yaml.Unmarshal([]byte("a: 1m30s\nb: 30\nc: 0.25\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.D() != 90*time.Second || v.B.D() != 30*time.Second || v.C.D() != 250*time.Millisecond {
		t.Errorf("decoded %v, %v, %v; want 1m30s, 30s, 250ms", v.A, v.B, v.C)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "a: 1m30s\nb: 30s\nc: 250ms\n"; got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
	if err := yaml.Unmarshal([]byte("a: [1]\n"), &v); err == nil {
		t.Errorf("Unmarshal of a list into a Duration: no error")
	}
}
