package testenv

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a process gets to stop after SIGTERM before it is
// killed.
const stopGrace = 10 * time.Second

// Start starts cmd and stops it when tb ends, passed or failed: SIGTERM,
// then SIGKILL if it has not exited within stopGrace. Where the kernel can
// (Linux), the process is also killed when the test binary dies without
// cleaning up, as it does when `go test -timeout` ends it, so nothing is
// left running. Start fails tb if cmd cannot start.
func Start(tb testing.TB, cmd *exec.Cmd) {
	tb.Helper()
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopGrace):
			tb.Errorf("%s did not stop within %v of SIGTERM; killed", cmd.Path, stopGrace)
			_ = cmd.Process.Kill()
			<-done
		}
	})
}
