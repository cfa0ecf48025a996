package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// deploymentStates are the router.Status.State values, every one emitted per
// deployment so that a query can sum or alert on any state without absent().
var deploymentStates = [...]string{"serving", "cooling", "circuit-open", "half-open", "inactive"}

var (
	deploymentStateDesc = prometheus.NewDesc(
		"spillway_deployment_state",
		"1 for the deployment's current routing state, 0 for the others: serving, cooling, circuit-open, half-open or inactive.",
		[]string{"deployment", "model", "state"}, nil,
	)
	deploymentInFlightDesc = prometheus.NewDesc(
		"spillway_deployment_in_flight",
		"Upstream attempts currently sent to the deployment.",
		[]string{"deployment"}, nil,
	)
	deploymentSlowDesc = prometheus.NewDesc(
		"spillway_deployment_slow_threshold_seconds",
		"How long the deployment may keep a request waiting for headers before an attempt the client abandons counts as its failure.",
		[]string{"deployment"}, nil,
	)
	deploymentFailuresDesc = prometheus.NewDesc(
		"spillway_deployment_failures_total",
		"Attempts counted as the deployment's failures (5xx, transport errors, rejected credentials, waits past the slow threshold).",
		[]string{"deployment"}, nil,
	)
)

// deploymentCollector reads the router's live state at scrape time, so there
// is no goroutine to own and the numbers are never staler than the scrape.
type deploymentCollector struct{ m *Metrics }

var _ prometheus.Collector = deploymentCollector{}

func (deploymentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- deploymentStateDesc
	ch <- deploymentInFlightDesc
	ch <- deploymentSlowDesc
	ch <- deploymentFailuresDesc
}

func (c deploymentCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.m.router.Status()
	// The scrape reads the models anyway; keep Observe's list fresh with it.
	c.m.refreshModels(st)
	for _, s := range st {
		known := false
		for _, state := range deploymentStates {
			v := 0.0
			if s.State == state {
				v, known = 1, true
			}
			ch <- prometheus.MustNewConstMetric(deploymentStateDesc, prometheus.GaugeValue, v, s.ID, s.Model, state)
		}
		if !known {
			// A state this package does not know yet: still show exactly
			// one 1 per deployment rather than none.
			ch <- prometheus.MustNewConstMetric(deploymentStateDesc, prometheus.GaugeValue, 1, s.ID, s.Model, s.State)
		}
		ch <- prometheus.MustNewConstMetric(deploymentInFlightDesc, prometheus.GaugeValue, float64(s.InFlight), s.ID)
		ch <- prometheus.MustNewConstMetric(deploymentSlowDesc, prometheus.GaugeValue, s.SlowThreshold.Seconds(), s.ID)
		ch <- prometheus.MustNewConstMetric(deploymentFailuresDesc, prometheus.CounterValue, float64(s.Failures), s.ID)
	}
}
