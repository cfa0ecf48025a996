// Command report prints one line for each outside service the tests
// need that is not available, saying why and whether its tests skip or
// fail: `make test` runs it first, because `go test ./...` shows a
// skipped test's reason only with -v. It decides exactly as the tests
// do, with testenv.
package main

import (
	"fmt"
	"os"

	"github.com/spillwayhq/spillway/internal/testenv"
)

func main() {
	for _, s := range testenv.Services() {
		if _, err := s.Lookup(); err != nil {
			fmt.Fprintln(os.Stderr, s.Missing(err))
		}
	}
}
