// Package metrics exposes Spillway's Prometheus metrics: what every request
// did (counted by Observe, once per request, after the response), which
// deployments cooled down and why (Cooldown), and, read at scrape time, the
// router's live per-deployment state and the usage writer's queue. It owns
// its registry, never the global default one, so tests and a second gateway
// in one process each get their own, and GET /metrics serves only what this
// package registered plus the standard Go and process collectors.
//
// Label values are bounded on purpose: models are the configured ones,
// statuses are three-digit codes, cooldown reasons are one of five classes,
// and the per-key label can be switched off for gateways with many keys.
package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spillwayhq/spillway/internal/router"
)

// StatusSource is the router's live state, read at every scrape.
// *router.Router satisfies it.
type StatusSource interface {
	Status() []router.Status
}

// UsageStatsSource is the usage writer's counters, read at every scrape.
type UsageStatsSource interface {
	// QueueDepth is the number of records waiting to be written.
	QueueDepth() int64
	// Dropped is the number of records the writer gave up on since start.
	Dropped() int64
	// Spilled is the number of records the writer set aside since start
	// instead of storing them (e.g. to a spill file while the store is down).
	Spilled() int64
}

// Options configure New.
type Options struct {
	// Router feeds spillway_deployment_state and spillway_deployment_in_flight
	// and tells configured models from names clients made up. Default nil:
	// those metrics are absent and requests that no deployment answered are
	// counted under model "unknown".
	Router StatusSource
	// Usage feeds the spillway_usage_* metrics. Default nil: they are absent.
	Usage UsageStatsSource
	// KeyLabels, when explicitly false, leaves the key label of
	// spillway_tokens_total and spillway_cost_usd_total empty, so that a
	// gateway with thousands of keys keeps a bounded number of series.
	// Default nil: true, one series per key.
	KeyLabels *bool
	// Redis, when set, reports whether Redis answers: spillway_redis_up.
	// Default nil: the metric is absent (no Redis configured).
	Redis func() bool
}

// Metrics records Spillway's metrics on its own registry. Its methods are
// safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	handler   http.Handler
	keyLabels bool

	// router and models decide which model names may become label values;
	// see modelLabel.
	router      StatusSource
	models      atomic.Pointer[map[string]struct{}]
	modelsAt    atomic.Int64 // unix nanoseconds of the last refresh from router
	modelsEvery int64        // minimum nanoseconds between refreshes on a miss

	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttfb      *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	retries   *prometheus.CounterVec
	failovers *prometheus.CounterVec
	cooldowns *prometheus.CounterVec

	// series caches Observe's series, bound to their labels.
	series seriesCache
}

// latencyBuckets suit LLM calls, from a cached embedding (50ms) to a long
// completion (2m). The same buckets serve time to first byte, where a
// streamed answer lands low and a non-streamed one as high as its latency.
var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120}

// New returns metrics registered on a fresh registry together with the Go
// and process collectors.
func New(o Options) *Metrics {
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		keyLabels:   o.KeyLabels == nil || *o.KeyLabels,
		router:      o.Router,
		modelsEvery: int64(modelRefreshInterval),

		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_requests_total",
			Help: "Requests served, by public model, answering deployment (empty when none answered), endpoint and the HTTP status the client got (499: the client left first).",
		}, []string{"model", "deployment", "endpoint", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spillway_request_duration_seconds",
			Help:    "Time from a request's arrival to the last byte of its response.",
			Buckets: latencyBuckets,
		}, []string{"model", "endpoint"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spillway_time_to_first_byte_seconds",
			Help:    "Time from a request's arrival to the first byte of its response; requests that sent nothing are not observed.",
			Buckets: latencyBuckets,
		}, []string{"model", "endpoint", "stream"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_tokens_total",
			Help: "Tokens used, by direction (prompt or completion); key is the client key id, empty when key labels are off.",
		}, []string{"model", "deployment", "key", "direction"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_cost_usd_total",
			Help: "Cost in US dollars from the price table; key is the client key id, empty when key labels are off.",
		}, []string{"model", "deployment", "key"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_upstream_attempts_total",
			Help: "Upstream attempts made, summed over requests.",
		}, []string{"model"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_retries_total",
			Help: "Upstream attempts beyond the first, summed over requests.",
		}, []string{"model"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_failovers_total",
			Help: "Requests answered by a deployment after at least one failed attempt, with a status other than 5xx, 429 or 499.",
		}, []string{"model"}),
		cooldowns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spillway_cooldowns_total",
			Help: "Times a deployment entered a cooldown, by reason class: rate_limited, quota, auth, deployment_gone or other.",
		}, []string{"deployment", "reason_class"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.ttfb, m.tokens, m.cost,
		m.attempts, m.retries, m.failovers, m.cooldowns,
	)
	if o.Router != nil {
		m.refreshModels(o.Router.Status())
		m.reg.MustRegister(deploymentCollector{m: m})
	}
	if o.Usage != nil {
		registerUsage(m.reg, o.Usage)
	}
	if o.Redis != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "spillway_redis_up",
			Help: "1 when Redis answers and limits and cooldowns are shared by every replica; 0 while each replica counts alone.",
		}, func() float64 {
			if o.Redis() {
				return 1
			}
			return 0
		}))
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector that fails must not blank the whole page: serve the
		// rest and count the error in promhttp_metric_handler_errors_total.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return m
}

// Handler serves the metrics in the Prometheus exposition formats, for
// GET /metrics. Every call returns the same handler.
func (m *Metrics) Handler() http.Handler { return m.handler }

// registerUsage adds the usage writer's numbers, read at scrape time.
func registerUsage(reg *prometheus.Registry, u UsageStatsSource) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "spillway_usage_queue_depth",
			Help: "Usage records waiting to be written.",
		}, func() float64 { return float64(u.QueueDepth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "spillway_usage_records_dropped_total",
			Help: "Usage records the writer gave up on.",
		}, func() float64 { return float64(u.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "spillway_usage_records_spilled_total",
			Help: "Usage records the writer set aside instead of storing them.",
		}, func() float64 { return float64(u.Spilled()) }),
	)
}
