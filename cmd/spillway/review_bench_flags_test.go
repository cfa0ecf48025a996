package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestReviewBenchCPUProfileNeedsProxyOnly: --cpuprofile only works with
// --proxy-only, says its help; elsewhere it is taken and ignored, and the
// run ends without the profile asked for. It should be refused with the
// other flag combinations, before anything starts (here --scenarios is
// bad too, so that nothing starts either way).
func TestReviewBenchCPUProfileNeedsProxyOnly(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	err := runBench(context.Background(), []string{"--cpuprofile", prof, "--scenarios", "nope"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("bench --cpuprofile without --proxy-only: got %v, want it refused naming --cpuprofile", err)
	}
}
