package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestBenchFlagsRefused: combinations bench cannot run are refused before
// anything is started, with what to change.
func TestBenchFlagsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nginx with upstream tls", []string{"--nginx", "nginx", "--upstream-tls"}, "--nginx works with a plain HTTP mock"},
		{"nginx not found", []string{"--nginx", "spillway-no-such-nginx"}, "--nginx: spillway-no-such-nginx is not in PATH or /usr/sbin"},
		{"nginx path not a program", []string{"--nginx", "/nonexistent/nginx"}, "--nginx: "},
		{"upstream tls with an upstream of its own", []string{"--upstream-tls", "--upstream", "http://127.0.0.1:1"}, "--upstream-tls works with the mock bench starts"},
		{"cpuprofile without proxy-only", []string{"--cpuprofile", "cpu.prof", "--scenarios", "nope"}, "--cpuprofile profiles the bare proxy of --proxy-only"},
		{"unknown scenario", []string{"--scenarios", "chat,nope"}, `unknown scenario "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runBench(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runBench(%q): got %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
