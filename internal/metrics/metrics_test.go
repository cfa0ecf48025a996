package metrics_test

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// metricsTestServer serves m's handler until the test ends.
func metricsTestServer(t testing.TB, m *metrics.Metrics) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// metricsTestGet serves h on a real listener and returns GET /metrics's body
// in the text exposition format.
func metricsTestGet(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	res, err := client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", res.StatusCode, body)
	}
	return string(body)
}

// metricsTestScrape scrapes h and returns every spillway_ sample keyed by
// its series as Prometheus prints it, name{label="value", ...} with labels
// sorted. Histogram buckets are left out (_count and _sum stay):
// TestHistogramBuckets checks the layout once.
func metricsTestScrape(t testing.TB, h http.Handler) map[string]float64 {
	t.Helper()
	return metricsTestParse(t, metricsTestGet(t, h), func(name string) bool {
		return strings.HasPrefix(name, "spillway_") && !strings.HasSuffix(name, "_bucket")
	})
}

func metricsTestParse(t testing.TB, text string, keep func(name string) bool) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, text)
	}
	out := make(map[string]float64)
	for _, f := range fams {
		samples, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Earliest}, f)
		if err != nil {
			t.Fatalf("samples of %s: %v", f.GetName(), err)
		}
		for _, s := range samples {
			if keep(string(s.Metric[model.MetricNameLabel])) {
				out[s.Metric.String()] = float64(s.Value)
			}
		}
	}
	return out
}

func TestObserve(t *testing.T) {
	off := false
	ok := usage.Record{
		KeyID: "key-1", Model: "gpt-4o", Deployment: "gpt-4o-east", Endpoint: "chat",
		Status: 200, Attempts: 1, Latency: 1500 * time.Millisecond, TTFB: 500 * time.Millisecond,
		PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, Cost: 0.25,
	}
	with := func(f func(r *usage.Record)) usage.Record {
		r := ok
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		opts    metrics.Options
		records []usage.Record
		want    map[string]float64
	}{
		{
			name:    "one success",
			records: []usage.Record{ok},
			want: map[string]float64{
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="200"}`:     1,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                             1,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                               1.5,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="gpt-4o", stream="false"}`:           1,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="gpt-4o", stream="false"}`:             0.5,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="prompt", key="key-1", model="gpt-4o"}`:     100,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="completion", key="key-1", model="gpt-4o"}`: 20,
				`spillway_cost_usd_total{deployment="gpt-4o-east", key="key-1", model="gpt-4o"}`:                       0.25,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                     1,
			},
		},
		{
			name:    "key labels off leave the key empty",
			opts:    metrics.Options{KeyLabels: &off},
			records: []usage.Record{ok, with(func(r *usage.Record) { r.KeyID = "key-2" })},
			want: map[string]float64{
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="200"}`: 2,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                         2,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                           3,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="gpt-4o", stream="false"}`:       2,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="gpt-4o", stream="false"}`:         1,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="prompt", key="", model="gpt-4o"}`:      200,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="completion", key="", model="gpt-4o"}`:  40,
				`spillway_cost_usd_total{deployment="gpt-4o-east", key="", model="gpt-4o"}`:                        0.5,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                 2,
			},
		},
		{
			name: "streamed success after two 429s is a failover",
			records: []usage.Record{with(func(r *usage.Record) {
				r.Stream, r.Attempts, r.PromptTokens, r.CompletionTokens, r.Cost = true, 3, 0, 0, 0
			})},
			want: map[string]float64{
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="200"}`: 1,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                         1,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                           1.5,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="gpt-4o", stream="true"}`:        1,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="gpt-4o", stream="true"}`:          0.5,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                 3,
				`spillway_retries_total{model="gpt-4o"}`:                                                           2,
				`spillway_failovers_total{model="gpt-4o"}`:                                                         1,
			},
		},
		{
			name: "a caller error from the second deployment is a failover",
			records: []usage.Record{with(func(r *usage.Record) {
				r.Status, r.Attempts, r.TTFB, r.PromptTokens, r.CompletionTokens, r.Cost = 400, 2, 0, 0, 0, 0
			})},
			want: map[string]float64{
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="400"}`: 1,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                         1,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                           1.5,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                 2,
				`spillway_retries_total{model="gpt-4o"}`:                                                           1,
				`spillway_failovers_total{model="gpt-4o"}`:                                                         1,
			},
		},
		{
			name: "retries that end in a 5xx, a 429 or a departed client are no failover",
			records: []usage.Record{
				with(func(r *usage.Record) { r.Status, r.Attempts, r.Deployment = 502, 2, "" }),
				with(func(r *usage.Record) { r.Status, r.Attempts = 503, 2 }),
				with(func(r *usage.Record) { r.Status, r.Attempts = 429, 2 }),
				with(func(r *usage.Record) { r.Status, r.Attempts = 499, 2 }),
			},
			want: map[string]float64{
				`spillway_requests_total{deployment="", endpoint="chat", model="unknown", status="502"}`:               1,
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="503"}`:     1,
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="429"}`:     1,
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="499"}`:     1,
				`spillway_request_duration_seconds_count{endpoint="chat", model="unknown"}`:                            1,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="unknown"}`:                              1.5,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                             3,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                               4.5,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="unknown", stream="false"}`:          1,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="unknown", stream="false"}`:            0.5,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="gpt-4o", stream="false"}`:           3,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="gpt-4o", stream="false"}`:             1.5,
				`spillway_tokens_total{deployment="", direction="prompt", key="key-1", model="unknown"}`:               100,
				`spillway_tokens_total{deployment="", direction="completion", key="key-1", model="unknown"}`:           20,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="prompt", key="key-1", model="gpt-4o"}`:     300,
				`spillway_tokens_total{deployment="gpt-4o-east", direction="completion", key="key-1", model="gpt-4o"}`: 60,
				`spillway_cost_usd_total{deployment="", key="key-1", model="unknown"}`:                                 0.25,
				`spillway_cost_usd_total{deployment="gpt-4o-east", key="key-1", model="gpt-4o"}`:                       0.75,
				`spillway_upstream_attempts_total{model="unknown"}`:                                                    2,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                     6,
				`spillway_retries_total{model="unknown"}`:                                                              1,
				`spillway_retries_total{model="gpt-4o"}`:                                                               3,
			},
		},
		{
			name: "nothing reached the client: no ttfb, no tokens, no cost, no attempt",
			records: []usage.Record{{
				KeyID: "key-1", Model: "made-up", Endpoint: "embeddings", Status: 404, Latency: 250 * time.Millisecond,
			}},
			want: map[string]float64{
				`spillway_requests_total{deployment="", endpoint="embeddings", model="unknown", status="404"}`: 1,
				`spillway_request_duration_seconds_count{endpoint="embeddings", model="unknown"}`:              1,
				`spillway_request_duration_seconds_sum{endpoint="embeddings", model="unknown"}`:                0.25,
			},
		},
		{
			name: "odd values neither panic nor poison counters",
			records: []usage.Record{with(func(r *usage.Record) {
				r.Status, r.Model, r.Deployment = 0, "\xff", ""
				r.Latency, r.TTFB = -time.Second, -time.Second
				r.PromptTokens, r.CompletionTokens, r.Cost, r.Attempts = -1, -1, math.NaN(), -1
			}), with(func(r *usage.Record) {
				r.Status, r.PromptTokens, r.CompletionTokens, r.Cost = 1000, 0, 0, math.Inf(1)
			})},
			want: map[string]float64{
				`spillway_requests_total{deployment="", endpoint="chat", model="unknown", status="other"}`:           1,
				`spillway_requests_total{deployment="gpt-4o-east", endpoint="chat", model="gpt-4o", status="other"}`: 1,
				`spillway_request_duration_seconds_count{endpoint="chat", model="gpt-4o"}`:                           1,
				`spillway_request_duration_seconds_sum{endpoint="chat", model="gpt-4o"}`:                             1.5,
				`spillway_time_to_first_byte_seconds_count{endpoint="chat", model="gpt-4o", stream="false"}`:         1,
				`spillway_time_to_first_byte_seconds_sum{endpoint="chat", model="gpt-4o", stream="false"}`:           0.5,
				`spillway_upstream_attempts_total{model="gpt-4o"}`:                                                   1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New(tt.opts)
			for _, r := range tt.records {
				m.Observe(r)
			}
			got := metricsTestScrape(t, m.Handler())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("spillway_ samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.Observe(usage.Record{Model: "gpt-4o", Deployment: "d", Endpoint: "chat", Status: 200, Attempts: 1, Latency: 3 * time.Second})
	got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(name string) bool {
		return name == "spillway_request_duration_seconds_bucket"
	})
	want := make(map[string]float64)
	for _, b := range []struct {
		le    string
		count float64
	}{
		{"0.05", 0}, {"0.1", 0}, {"0.25", 0}, {"0.5", 0}, {"1", 0}, {"2", 0},
		{"4", 1}, {"8", 1}, {"15", 1}, {"30", 1}, {"60", 1}, {"120", 1}, {"+Inf", 1},
	} {
		want[`spillway_request_duration_seconds_bucket{endpoint="chat", le="`+b.le+`", model="gpt-4o"}`] = b.count
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
}

func TestCooldown(t *testing.T) {
	m := metrics.New(metrics.Options{})
	for _, c := range []struct {
		deployment string
		o          router.Outcome
	}{
		{"east", router.Outcome{Verdict: router.RateLimited, Reason: "429 retry-after 6s"}},
		{"east", router.Outcome{Verdict: router.RateLimited, Reason: "429 rate limited"}},
		{"east", router.Outcome{Verdict: router.QuotaExhausted, Reason: "429 quota exhausted, retry-after 1h0m0s"}},
		{"west", router.Outcome{Verdict: router.AuthFailed, Reason: "upstream 401: invalid key"}},
		{"west", router.Outcome{Verdict: router.DeploymentGone, Reason: "upstream 404: DeploymentNotFound"}},
		{"west", router.Outcome{Verdict: router.Transient, Reason: "connection refused"}},
	} {
		m.Cooldown(c.deployment, c.o)
	}
	text := metricsTestGet(t, m.Handler())
	got := metricsTestParse(t, text, func(name string) bool { return name == "spillway_cooldowns_total" })
	want := map[string]float64{
		`spillway_cooldowns_total{deployment="east", reason_class="rate_limited"}`:    2,
		`spillway_cooldowns_total{deployment="east", reason_class="quota"}`:           1,
		`spillway_cooldowns_total{deployment="west", reason_class="auth"}`:            1,
		`spillway_cooldowns_total{deployment="west", reason_class="deployment_gone"}`: 1,
		`spillway_cooldowns_total{deployment="west", reason_class="other"}`:           1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spillway_cooldowns_total (-want +got):\n%s", diff)
	}
	for _, raw := range []string{"retry-after", "invalid key", "DeploymentNotFound", "refused"} {
		if strings.Contains(text, raw) {
			t.Errorf("/metrics contains the raw reason text %q", raw)
		}
	}
}

func TestReasonClass(t *testing.T) {
	tests := []struct {
		v    router.Verdict
		want string
	}{
		// The verdicts that cool a deployment down (router.Report).
		{router.RateLimited, metrics.ReasonRateLimited},
		{router.QuotaExhausted, metrics.ReasonQuota},
		{router.AuthFailed, metrics.ReasonAuth},
		{router.DeploymentGone, metrics.ReasonDeploymentGone},
		// Anything else.
		{router.Transient, metrics.ReasonOther},
		{router.Success, metrics.ReasonOther},
		{router.TooLarge, metrics.ReasonOther},
	}
	for _, tt := range tests {
		if got := metrics.ReasonClass(tt.v); got != tt.want {
			t.Errorf("ReasonClass(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// metricsTestUsage is a usage writer's counters.
type metricsTestUsage struct{ depth, dropped, spilled int64 }

func (u metricsTestUsage) QueueDepth() int64 { return u.depth }
func (u metricsTestUsage) Dropped() int64    { return u.dropped }
func (u metricsTestUsage) Spilled() int64    { return u.spilled }

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		src  metrics.UsageStatsSource
		want map[string]float64
	}{
		{
			name: "from the source at scrape time",
			src:  metricsTestUsage{depth: 7, dropped: 2, spilled: 40},
			want: map[string]float64{
				"spillway_usage_queue_depth":           7,
				"spillway_usage_records_dropped_total": 2,
				"spillway_usage_records_spilled_total": 40,
			},
		},
		{
			name: "absent without a source",
			want: map[string]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New(metrics.Options{Usage: tt.src})
			got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(name string) bool {
				return strings.HasPrefix(name, "spillway_usage_")
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("spillway_usage_ samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerServesRuntimeCollectors(t *testing.T) {
	m := metrics.New(metrics.Options{})
	got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(string) bool { return true })
	want := []string{"go_goroutines", "go_memstats_alloc_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total", "process_start_time_seconds")
	}
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

func TestHandlerIsOwnRegistry(t *testing.T) {
	a := metrics.New(metrics.Options{})
	b := metrics.New(metrics.Options{}) // a second New must not collide
	a.Cooldown("east", router.Outcome{Verdict: router.RateLimited, Reason: "429 rate limited"})
	got := metricsTestParse(t, metricsTestGet(t, b.Handler()), func(name string) bool {
		return name == "spillway_cooldowns_total"
	})
	if len(got) != 0 {
		t.Errorf("b serves a's samples: %v", got)
	}
}

// TestConcurrent runs Observe, Cooldown, scrapes and a config swap at once,
// for the race detector.
func TestConcurrent(t *testing.T) {
	clk := &deploymentsTestClock{}
	east := deploymentsTestDeployment("east", "gpt-4o", 1)
	r := deploymentsTestRouter(t, clk, east)
	m := metrics.New(metrics.Options{Router: r, Usage: metricsTestUsage{depth: 1}})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				m.Observe(usage.Record{
					KeyID: "key", Model: []string{"gpt-4o", "made-up"}[j%2], Endpoint: "chat",
					Status: 200 + i, Attempts: 1, Latency: time.Millisecond, TTFB: time.Millisecond, PromptTokens: 1,
				})
				m.Cooldown("east", router.Outcome{Verdict: router.RateLimited, Reason: "429 rate limited"})
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("GET /metrics: status %d", rec.Code)
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			if err := r.Update([]config.Deployment{east}); err != nil {
				t.Errorf("Update: %v", err)
			}
		}
	})
	wg.Wait()
	if got, want := metricsTestScrape(t, m.Handler())[`spillway_cooldowns_total{deployment="east", reason_class="rate_limited"}`], 800.0; got != want {
		t.Errorf("spillway_cooldowns_total = %v, want %v", got, want)
	}
}
