package main

import "testing"

func TestDemoPrintsAReachableAddress(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"[::]:4000", "127.0.0.1:4000"},
		{"0.0.0.0:4000", "127.0.0.1:4000"},
		{"127.0.0.1:4001", "127.0.0.1:4001"},
		{"10.1.2.3:4000", "10.1.2.3:4000"},
	} {
		if got := reachable(tt.addr); got != tt.want {
			t.Errorf("reachable(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
