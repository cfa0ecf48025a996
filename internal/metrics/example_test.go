package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

func ExampleNew() {
	m := metrics.New(metrics.Options{}) // in main: Options{Router: rt, Usage: writer}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())

	// The gateway, after each response:
	m.Observe(usage.Record{
		KeyID: "key-1", Model: "gpt-4o", Deployment: "gpt-4o-east", Endpoint: "chat",
		Status: 200, Attempts: 2, Latency: 2 * time.Second, PromptTokens: 12, CompletionTokens: 30,
	})
	// The router, when a 429 takes a deployment out:
	m.Cooldown("gpt-4o-west", router.Outcome{Verdict: router.RateLimited, Reason: "429 retry-after 6s"})

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"spillway_requests_total", "spillway_tokens_total", "spillway_failovers_total", "spillway_cooldowns_total"} {
			if strings.HasPrefix(line, name+"{") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// spillway_cooldowns_total{deployment="gpt-4o-west",reason_class="rate_limited"} 1
	// spillway_failovers_total{model="gpt-4o"} 1
	// spillway_requests_total{deployment="gpt-4o-east",endpoint="chat",model="gpt-4o",status="200"} 1
	// spillway_tokens_total{deployment="gpt-4o-east",direction="completion",key="key-1",model="gpt-4o"} 30
	// spillway_tokens_total{deployment="gpt-4o-east",direction="prompt",key="key-1",model="gpt-4o"} 12
}
