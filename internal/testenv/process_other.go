//go:build !linux

package testenv

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death
// signal: the test's cleanup is all there is.
func dieWithParent(*exec.Cmd) {}
