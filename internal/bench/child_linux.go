package bench

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill the child if bench itself dies without
// stopping it (SIGKILL, crash), so no process is left behind.
func setChildAttrs(cmd *exec.Cmd, group bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: group}
}

// killGroup kills what is left of the process group led by pid.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
