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

// A Process is a program a test started with Start.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been waited for
}

// Start starts cmd and stops it when tb ends, passed or failed: SIGTERM,
// then SIGKILL if it has not exited within stopGrace. Where the kernel can
// (Linux), the process is also killed when the test binary dies without
// cleaning up, as it does when `go test -timeout` ends it, so nothing is
// left running. Start fails tb if cmd cannot start. The process is waited
// for by Start: do not call cmd.Wait.
func Start(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if !p.stop(syscall.SIGTERM, stopGrace) {
			tb.Errorf("%s did not stop within %v of SIGTERM; killed", cmd.Path, stopGrace)
		}
	})
	return p
}

// Kill kills the process and returns once it has exited.
func (p *Process) Kill() { p.stop(syscall.SIGKILL, 0) }

// stop sends sig and waits for the exit, killing the process after grace;
// it reports whether the process exited without that.
func (p *Process) stop(sig syscall.Signal, grace time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-p.done:
			return true
		case <-time.After(grace):
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return sig == syscall.SIGKILL
}
