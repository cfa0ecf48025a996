package admin_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the handler
// starts none, and every store a test opens is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
