//go:build !unix

package store

import "time"

// processCPU is not read on this system; see cpu_unix_test.go.
func processCPU() (time.Duration, bool) { return 0, false }
