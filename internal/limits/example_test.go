package limits_test

import (
	"context"
	"fmt"
	"time"

	"github.com/spillwayhq/spillway/internal/limits"
)

func ExampleMemory() {
	// An injected clock, 20s into a minute.
	now := func() time.Time { return time.Date(2030, 1, 2, 12, 0, 20, 0, time.UTC) }
	l := limits.NewMemory(now)
	ctx := context.Background()

	// A key allowed 3 requests per minute.
	for range 4 {
		d, _ := l.Take(ctx, "team-a:rpm", 3, time.Minute, 1)
		fmt.Printf("allowed=%v remaining=%d retry-after=%v\n", d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Output:
	// allowed=true remaining=2 retry-after=0s
	// allowed=true remaining=1 retry-after=0s
	// allowed=true remaining=0 retry-after=0s
	// allowed=false remaining=0 retry-after=40s
}
