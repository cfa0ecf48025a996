package bench

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill the child if bench itself dies without
// stopping it (SIGKILL, crash), so no process is left behind.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
