package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("spillway version: exit %d, stderr %q", code, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{"spillway " + version + "\n", "\ncommit: ", "\ngo: " + runtime.Version() + "\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("spillway version printed %q, want it to contain %q", got, want)
		}
	}
	if code := run(t.Context(), []string{"version", "extra"}, &stdout, &stderr); code != 1 {
		t.Errorf("spillway version extra: exit %d, want 1", code)
	}
}
