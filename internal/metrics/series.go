package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Observe's series are looked up in its vectors by label values, which
// hashes every value and takes each vector's lock, eight times a request.
// They are cached here, bound to their labels, behind one lock-free
// lookup per request for the request's series and one for its tokens'.
// A series is still created in its vector only when first used, so the
// scrape shows exactly what it showed before.

// requestLabels are the labels of a request's series but its key's.
type requestLabels struct {
	model, deployment, endpoint, status string
	stream                              bool
}

// requestSeries are the series of requestLabels, each set on first use.
type requestSeries struct {
	requests, attempts, retries, failovers lazy[prometheus.Counter]
	duration, ttfb                         lazy[prometheus.Observer]
}

// chargeLabels are the labels of a request's tokens and cost.
type chargeLabels struct {
	model, deployment, key string
}

// chargeSeries are the series of chargeLabels, each set on first use.
type chargeSeries struct {
	prompt, completion, cost lazy[prometheus.Counter]
}

// lazy is a series made by its vector the first time it is asked for.
type lazy[T any] struct{ p atomic.Pointer[T] }

// get returns the series, made by newSeries the first time. Two callers
// racing both make it; the vector returns the same series to both.
func (l *lazy[T]) get(newSeries func() T) T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	v := newSeries()
	l.p.Store(&v)
	return v
}

// seriesCache holds the bound series. Its size is bounded by the labels'
// values, as the vectors' are: configured models and deployments, status
// codes, and keys only when key labels are on.
type seriesCache struct {
	requests sync.Map // requestLabels -> *requestSeries
	charges  sync.Map // chargeLabels -> *chargeSeries
}

func (c *seriesCache) request(l requestLabels) *requestSeries {
	if s, ok := c.requests.Load(l); ok {
		return s.(*requestSeries)
	}
	s, _ := c.requests.LoadOrStore(l, &requestSeries{})
	return s.(*requestSeries)
}

func (c *seriesCache) charge(l chargeLabels) *chargeSeries {
	if s, ok := c.charges.Load(l); ok {
		return s.(*chargeSeries)
	}
	s, _ := c.charges.LoadOrStore(l, &chargeSeries{})
	return s.(*chargeSeries)
}
