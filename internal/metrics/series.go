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
	requests cowMap[requestLabels, requestSeries]
	charges  cowMap[chargeLabels, chargeSeries]
}

func (c *seriesCache) request(l requestLabels) *requestSeries { return c.requests.get(l) }

func (c *seriesCache) charge(l chargeLabels) *chargeSeries { return c.charges.get(l) }

// cowMap is a map read without a lock and copied on each write. Its keys
// are label sets, new ones rare after the first requests: a lookup is one
// atomic load and the map's own hash of the key's fields, where sync.Map
// hashes its any keys through their type descriptor, field by field.
type cowMap[K comparable, V any] struct {
	m  atomic.Pointer[map[K]*V]
	mu sync.Mutex // serialises copies
}

// get returns k's value, made on first use.
func (c *cowMap[K, V]) get(k K) *V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	next := make(map[K]*V, 1+mapLen(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := new(V)
	next[k] = v
	c.m.Store(&next)
	return v
}

func mapLen[K comparable, V any](m *map[K]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
