package main

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// execMainEnv makes the test binary run spillway itself, so tests can start
// real gateway processes without building the binary first.
const execMainEnv = "SPILLWAY_TEST_EXEC_MAIN"

// execClockEnv, beside execMainEnv, stops the clock such a process decides
// windows, days and event periods by at an RFC 3339 instant, so a test
// puts all its requests in one rate-limit window and one day by
// construction, whatever the hour it runs. Only the test binary reads it.
const execClockEnv = "SPILLWAY_TEST_EXEC_CLOCK"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		now := time.Now
		if v := os.Getenv(execClockEnv); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", execClockEnv, err)
				os.Exit(2)
			}
			now = func() time.Time { return at }
		}
		os.Exit(runMain(now))
	}
	os.Exit(m.Run())
}
