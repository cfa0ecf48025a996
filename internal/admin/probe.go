package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
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

// probe asks d for the smallest answer its class allows: one token of chat
// or completion, the embedding of one word. Image deployments are not
// probed: an image costs money.
func (h *handler) probe(ctx context.Context, d *router.Deployment) probeResult {
	model := d.Target.Model
	if model == "" {
		model = d.Config.Deployment
	}
	var op provider.Operation
	body := map[string]any{"model": model}
	switch d.Config.Class {
	case config.ClassChat:
		op = provider.Chat
		body["messages"] = []map[string]string{{"role": "user", "content": "ping"}}
		body["max_tokens"] = 1
	case config.ClassCompletions:
		op = provider.Completions
		body["prompt"] = "ping"
		body["max_tokens"] = 1
	case config.ClassEmbeddings:
		op = provider.Embeddings
		body["input"] = "ping"
	default:
		return probeResult{skipped: true}
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target.URL(op).String(), bytes.NewReader(b))
	if err != nil {
		return probeResult{err: "cannot build the probe request"}
	}
	req.Header.Set("Content-Type", "application/json")
	if err := d.Target.Authorize(ctx, req.Header); err != nil {
		return probeResult{err: router.ClassifyPrepareError(context.Background(), err).Reason}
	}
	rt := h.opts.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return probeResult{err: router.ClassifyError(context.Background(), err).Reason}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return probeResult{}
	}
	return probeResult{err: router.ClassifyResponse(resp.StatusCode, resp.Header, head, time.Now()).Reason}
}
