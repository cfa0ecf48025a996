package admin

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/router"
)

// probeTimeout bounds one health probe; probeParallel bounds how many run
// at once.
const (
	probeTimeout  = 10 * time.Second
	probeParallel = 8
)

// probeResult is one deployment's probe: "" when it answered, else why
// not, in the classifier's words (never a key, never a body).
type probeResult struct {
	err     string
	skipped bool
}

// probeAll sends one minimal request to every deployment in ids, in
// parallel. A probe only reports: it changes no routing state.
func (h *handler) probeAll(ctx context.Context, ids []string) map[string]probeResult {
	out := make(map[string]probeResult, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, probeParallel)
	for _, id := range ids {
		d, ok := h.opts.Router.Deployment(id)
		if !ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := h.probe(ctx, d)
			mu.Lock()
			out[id] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// probe asks d for the smallest answer its class allows (router.Probe).
// Image, audio and moderation deployments are not probed: they cost more.
func (h *handler) probe(ctx context.Context, d *router.Deployment) probeResult {
	rt := h.opts.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	o, probed := router.Probe(ctx, rt, d, time.Now())
	switch {
	case !probed:
		return probeResult{skipped: true}
	case o.Verdict == router.Success:
		return probeResult{}
	}
	return probeResult{err: o.Reason}
}
