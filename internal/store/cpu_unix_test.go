//go:build unix

package store

import (
	"syscall"
	"time"
)

// processCPU is the user and system time this process has used, for
// benchmarks that report CPU per record: on a shared machine wall time
// counts the others' load too. ok is false where it cannot be read.
func processCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
