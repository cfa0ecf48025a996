package metrics

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// UnknownModel is the model label of a request for a model that is not
// configured: the name is the client's, and letting every made-up name
// become a series would let one client grow the scrape without bound.
const UnknownModel = "unknown"

// modelRefreshInterval bounds how often a request naming a model not seen
// before makes Observe re-read the router's models: a model added by a
// config swap is picked up at the next scrape or within this interval,
// whichever comes first, and a flood of made-up names costs one
// Router.Status call per interval.
const modelRefreshInterval = time.Second

// Observe counts one finished request. The gateway calls it once per
// request, after the response, with the request's usage record.
//
// Failover is defined as: more than one upstream attempt (Attempts > 1), a
// deployment answered (Deployment != ""), and the client got neither a 5xx,
// a 429 (the failover found no capacity) nor a 499 (the client left, so
// nobody answered). A 4xx such as a content filter still counts: another
// deployment did answer after the first failed.
func (m *Metrics) Observe(r usage.Record) {
	model := m.modelLabel(r)
	status := statusLabel(r.Status)
	s := m.series.request(requestLabels{model: model, deployment: r.Deployment, endpoint: r.Endpoint, status: status, stream: r.Stream})
	s.requests.get(func() prometheus.Counter { return m.requests.WithLabelValues(model, r.Deployment, r.Endpoint, status) }).Inc()
	if r.Latency >= 0 {
		s.duration.get(func() prometheus.Observer { return m.duration.WithLabelValues(model, r.Endpoint) }).Observe(r.Latency.Seconds())
	}
	if r.TTFB > 0 {
		s.ttfb.get(func() prometheus.Observer {
			stream := "false"
			if r.Stream {
				stream = "true"
			}
			return m.ttfb.WithLabelValues(model, r.Endpoint, stream)
		}).Observe(r.TTFB.Seconds())
	}

	// NaN fails the comparison; +Inf would stick forever.
	if r.PromptTokens > 0 || r.CompletionTokens > 0 || (r.Cost > 0 && !math.IsInf(r.Cost, 1)) {
		key := ""
		if m.keyLabels {
			key = r.KeyID
		}
		c := m.series.charge(chargeLabels{model: model, deployment: r.Deployment, key: key})
		if r.PromptTokens > 0 {
			c.prompt.get(func() prometheus.Counter { return m.tokens.WithLabelValues(model, r.Deployment, key, "prompt") }).Add(float64(r.PromptTokens))
		}
		if r.CompletionTokens > 0 {
			c.completion.get(func() prometheus.Counter { return m.tokens.WithLabelValues(model, r.Deployment, key, "completion") }).Add(float64(r.CompletionTokens))
		}
		if r.Cost > 0 && !math.IsInf(r.Cost, 1) {
			c.cost.get(func() prometheus.Counter { return m.cost.WithLabelValues(model, r.Deployment, key) }).Add(r.Cost)
		}
	}

	if r.Attempts > 0 {
		s.attempts.get(func() prometheus.Counter { return m.attempts.WithLabelValues(model) }).Add(float64(r.Attempts))
	}
	if r.Attempts > 1 {
		s.retries.get(func() prometheus.Counter { return m.retries.WithLabelValues(model) }).Add(float64(r.Attempts - 1))
		if failover(r) {
			s.failovers.get(func() prometheus.Counter { return m.failovers.WithLabelValues(model) }).Inc()
		}
	}
}

// failover reports whether a request with more than one attempt was answered
// by a deployment; see Observe.
func failover(r usage.Record) bool {
	switch {
	case r.Deployment == "", r.Status >= 500, r.Status == 429, r.Status == 499:
		return false
	}
	return true
}

// modelLabel returns r.Model when it is a configured model, else
// UnknownModel. A request a deployment answered names a configured model by
// construction; any other is checked against the router's models, re-read
// at most every modelRefreshInterval on a miss. Without a router, only
// answered requests keep their model.
func (m *Metrics) modelLabel(r usage.Record) string {
	if r.Deployment != "" {
		return r.Model
	}
	if m.knownModel(r.Model) {
		return r.Model
	}
	if m.router == nil {
		return UnknownModel
	}
	now := time.Now().UnixNano()
	last := m.modelsAt.Load()
	if now-last < m.modelsEvery || !m.modelsAt.CompareAndSwap(last, now) {
		return UnknownModel
	}
	m.refreshModels(m.router.Status())
	if m.knownModel(r.Model) {
		return r.Model
	}
	return UnknownModel
}

func (m *Metrics) knownModel(model string) bool {
	p := m.models.Load()
	if p == nil {
		return false
	}
	_, ok := (*p)[model]
	return ok
}

// refreshModels replaces the known models with those of st, active or not:
// a request for a model whose deployments are all switched off still names
// a configured model.
func (m *Metrics) refreshModels(st []router.Status) {
	set := make(map[string]struct{}, len(st))
	for _, s := range st {
		set[s.Model] = struct{}{}
	}
	m.models.Store(&set)
	m.modelsAt.Store(time.Now().UnixNano())
}

// statusLabels holds "100" to "599", so that labelling a status costs no
// allocation.
var statusLabels = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// statusLabel is the status as a decimal code; anything outside 100-599,
// which no client was sent, becomes "other".
func statusLabel(status int) string {
	if status < 100 || status >= len(statusLabels) {
		return "other"
	}
	return statusLabels[status]
}
