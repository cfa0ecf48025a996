package metrics

import "github.com/prometheus/client_golang/prometheus"

// CountLimitFailures adds spillway_limit_adjust_failures_total, read from
// failures at every scrape: give-backs and corrections of counted limits
// (a key's or a deployment's) that did not reach the shared counters, so
// those counts stay off until their window ends. Call it once.
func (m *Metrics) CountLimitFailures(failures func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "spillway_limit_adjust_failures_total",
		Help: "Give-backs and usage corrections of rpm/tpm counts that did not reach the shared (Redis) counters; each leaves a count off until its window ends.",
	}, func() float64 { return float64(failures()) }))
}
