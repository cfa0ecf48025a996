package admin

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// readinessTimeout bounds the store ping behind /health/readiness, so a
// hung database answers 503 rather than hanging the load balancer's probe.
const readinessTimeout = 2 * time.Second

// liveliness answers GET /health/liveliness (LiteLLM's spelling) and
// /health/liveness: the process serves HTTP.
func (h *handler) liveliness(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, "I'm alive!")
	return nil
}

// readiness answers GET /health/readiness: 200, "healthy" when the store
// answers a ping; 200, "degraded" with since when it has not, since the
// replica routes on; 503 only without a store. With Redis configured it
// also says whether Redis answers; a Redis outage leaves the replica
// ready, since it serves on with local limits.
func (h *handler) readiness(w http.ResponseWriter, r *http.Request) error {
	now := h.opts.Now()
	body := map[string]string{"status": "healthy", "db": "connected"}
	if h.opts.Redis != nil {
		body["redis"] = "connected"
		if !h.opts.Redis() {
			body["redis"] = "unreachable since " + h.redisDown.mark(now) + ": limits and cooldowns are per replica until it returns"
		} else {
			h.redisDown.clear()
		}
	}
	if h.opts.UsageRollups != nil {
		// Reads are exact either way, only slower: still ready.
		_, body["usage_rollups"] = h.opts.UsageRollups()
	}
	if h.opts.Store == nil {
		body["status"], body["db"] = "unhealthy", "no store configured"
		writeJSON(w, http.StatusServiceUnavailable, body)
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
	defer cancel()
	if err := h.opts.Store.Ping(ctx); err != nil {
		// The driver's words name hosts, users, databases and paths: they
		// go to the log, which the operator reads, not to this page, which
		// anyone may.
		h.log.Warn("readiness: the store does not answer", "err", err)
		// The gateway routes on with its last good deployments and keeps
		// usage records (queued, then spilled to disk): a replica is still
		// worth traffic, and failing readiness on every replica at once
		// would turn a database outage into a full one. Degraded, not down.
		body["status"], body["db"] = "degraded", "unreachable since "+h.dbDown.mark(now)+"; routing on the last good deployments, usage records queued; the log has the driver's error"
	} else {
		h.dbDown.clear()
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// downSince remembers when a dependency was first seen down.
type downSince struct{ at atomic.Int64 }

// mark returns when the dependency went down (now, if just now), as RFC
// 3339 UTC.
func (d *downSince) mark(now time.Time) string {
	d.at.CompareAndSwap(0, now.UnixNano())
	return time.Unix(0, d.at.Load()).UTC().Format(time.RFC3339)
}

func (d *downSince) clear() { d.at.Store(0) }

// healthEndpoint is one element of LiteLLM's /health lists: the
// deployment's litellm_params (never a key) plus where it stands.
type healthEndpoint struct {
	ID        string `json:"id"`
	ModelName string `json:"model_name"`
	Model     string `json:"model"`
	APIBase   string `json:"api_base,omitempty"`
	State     string `json:"state"`
	Error     string `json:"error,omitempty"`
}

// health answers GET /health in LiteLLM's shape. By default it reports
// the router's live view (a deployment is healthy while it is serving: not
// cooling down, its circuit closed): probes cost tokens, and real traffic
// already tells. With ?probe=true it also sends every active deployment
// one minimal request, as LiteLLM does, and a deployment that does not
// answer is unhealthy whatever the router thinks. Inactive deployments
// are left out.
func (h *handler) health(w http.ResponseWriter, r *http.Request) error {
	healthy, unhealthy := []healthEndpoint{}, []healthEndpoint{}
	if h.opts.Router != nil {
		statuses := h.opts.Router.Status()
		var probes map[string]probeResult
		if r.URL.Query().Get("probe") == "true" {
			var ids []string
			for _, s := range statuses {
				if s.Active {
					ids = append(ids, s.ID)
				}
			}
			probes = h.probeAll(r.Context(), ids)
		}
		for _, s := range statuses {
			if !s.Active {
				continue
			}
			if p, ok := probes[s.ID]; ok && p.err != "" {
				s.State, s.CooldownReason = "probe-failed", p.err
			}
			e := healthEndpoint{ID: s.ID, ModelName: s.Model, State: s.State}
			// The router already holds every routed deployment, from the
			// file and the store alike: no need to read them again.
			if d, ok := h.opts.Router.Deployment(s.ID); ok {
				p := litellmParamsOf(d.Config)
				e.Model, e.APIBase = p.Model, p.APIBase
			}
			if s.State == "serving" {
				healthy = append(healthy, e)
				continue
			}
			e.Error = s.CooldownReason
			if e.Error == "" {
				e.Error = s.LastError
			}
			if e.Error == "" {
				e.Error = s.State
			}
			unhealthy = append(unhealthy, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"healthy_endpoints":   healthy,
		"unhealthy_endpoints": unhealthy,
		"healthy_count":       len(healthy),
		"unhealthy_count":     len(unhealthy),
	})
	return nil
}
