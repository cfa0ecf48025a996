package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test closes what it opens; a leaked database/sql pool leaves its
// connection-opener goroutine behind and fails here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
