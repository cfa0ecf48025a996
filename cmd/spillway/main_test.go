package main

import (
	"os"
	"testing"
)

// execMainEnv makes the test binary run spillway itself, so tests can start
// real gateway processes without building the binary first.
const execMainEnv = "SPILLWAY_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}
