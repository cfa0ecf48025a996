// Package admin serves the management APIs: Spillway's native REST API
// under /admin/v1/, the routes of the Azure OpenAI Service Proxy it
// replaces (/api/v1/management/...), LiteLLM's model management routes
// (/model/new, /model/info, ...) and the health checks. The three dialects
// are views of one thing: deployments in the store, validated exactly like
// the config file's, next to the file's own deployments, which are listed
// but never changed here.
//
// Every change is written to the store, then Options.Reload applies it to
// this replica's router at once; other replicas see the store's revision
// move and reload within a poll. Upstream keys go in and never come out:
// responses show "*********" and nothing is logged about them.
//
// The same handler serves client keys, events and their attendees
// (docs/access-api.md): natively under /admin/v1/, the seed's event routes
// under /api/v1/management/events/, and, with no admin token, the seed's
// attendee routes /api/v1/attendee/event/{id}/register and
// /api/v1/eventinfo. A client key is shown once, when it is created; only
// its hash is stored, and no answer or log line carries either.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// Options configure the management handler.
type Options struct {
	// Store holds the deployments created through the API. Required.
	Store store.Store
	// Config holds the config file's deployments: listed with
	// "source":"config" and never changeable through the API (409).
	Config []config.Deployment
	// Router is the live routing state shown by /admin/v1/routing and
	// /health. Nil shows no deployments.
	Router *router.Router
	// Token reports, in constant time, whether a presented bearer token is
	// the admin token. Nil lets nothing in.
	Token func(presented string) bool
	// Session reports whether a request without a bearer token comes from
	// a signed-in admin portal session (cookie, plus the CSRF header on a
	// state-changing method). Nil: only the bearer token lets anyone in.
	Session func(r *http.Request) bool
	// SessionAdmin returns who a request without a bearer token is, from
	// a signed-in portal session (cookie, plus the CSRF header on a
	// state-changing method); it is asked before Session. Nil: only
	// Session and tokens let anyone in.
	SessionAdmin func(r *http.Request) (auth.Admin, bool)
	// Reload applies the store to this replica's router. It is called once
	// after every successful change, never after a failed one. Nil skips it.
	Reload func(ctx context.Context) error
	// DemoMode is passed through for the demo; the API behaves the same.
	DemoMode bool
	// Logger receives one line per change and every internal error; never a
	// secret. Default slog.Default().
	Logger *slog.Logger
	// Transport sends the probes of GET /health?probe=true. Default
	// http.DefaultTransport; serve passes the gateway's.
	Transport http.RoundTripper
	// Secret derives attendee keys (auth.AttendeeKey), so registering
	// again hands out the same key. Nil: issuing attendee keys answers 503
	// asking for SPILLWAY_SECRET_KEY; everything else works.
	Secret []byte
	// Limiter counts failed self-registrations per client address. Default
	// limits.NewMemory(Now): per replica; pass the Redis one to share the
	// count across replicas.
	Limiter limits.Limiter
	// Now is the clock for key status, event windows and revocation
	// times. Default time.Now.
	Now func() time.Time
	// StaticKeys are the config file's client keys, which eventinfo also
	// answers for (no event, no caps). Nil: stored keys only.
	StaticKeys auth.Authenticator
	// Redis, when set, reports whether Redis answers; /health/readiness
	// shows it. Redis being down does not make the replica unready: it
	// serves on with per-replica limits. Nil: no Redis configured.
	Redis func() bool
	// UsageRollups, when set, reports whether usage rollups hold every
	// record (false while an upgraded database's records are rolled up in
	// the background) and a sentence saying so; /health/readiness shows
	// it. The replica is ready either way. Nil: not shown.
	UsageRollups func() (ready bool, detail string)
}

// maxBody caps a request body: a deployment is a few hundred bytes.
const maxBody = 1 << 20

// handler serves every management route.
type handler struct {
	opts Options
	log  *slog.Logger
	// public serves the routes that need no admin token; private the rest.
	public, private *http.ServeMux
	// privateRoutes are the routes private serves, for the role tests.
	privateRoutes []route
	// upsertMu serialises the seed's upserts, which read then write, so two
	// concurrent upserts of one deployment cannot create it twice here.
	upsertMu sync.Mutex
	// dbDown and redisDown are when readiness first saw each dependency
	// down, for "since"; zero while it is up.
	dbDown, redisDown downSince
}

// New returns the management API. Every route but /health/liveliness,
// /health/readiness and the two attendee routes needs Authorization:
// Bearer <admin token>. Unknown paths answer an OpenAI-shaped 404.
func New(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limiter == nil {
		o.Limiter = limits.NewMemory(o.Now)
	}
	h := &handler{opts: o, log: o.Logger, public: http.NewServeMux(), private: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.routes()
	return h
}

// route names one handler, the dialect its errors are rendered in, and,
// on private routes, the roles that may call it (roles.go).
type route struct {
	pattern string
	fn      func(http.ResponseWriter, *http.Request) error
	seed    bool
	allow   roles
	scope   scope
}

func (h *handler) routes() {
	public := []route{
		{pattern: "GET /health/liveliness", fn: h.liveliness},
		{pattern: "GET /health/liveness", fn: h.liveliness},
		{pattern: "GET /health/readiness", fn: h.readiness},

		{pattern: "POST /api/v1/attendee/event/{event_id}/register", fn: h.register, seed: true},
		{pattern: "POST /api/v1/eventinfo", fn: h.eventInfo, seed: true},
	}
	private := []route{
		{pattern: "GET /admin/v1/deployments", fn: h.listDeployments, allow: readers},
		{pattern: "POST /admin/v1/deployments", fn: h.createDeployment, allow: operators},
		{pattern: "GET /admin/v1/deployments/{id}", fn: h.getDeployment, allow: readers},
		{pattern: "PATCH /admin/v1/deployments/{id}", fn: h.patchDeployment, allow: operators},
		{pattern: "DELETE /admin/v1/deployments/{id}", fn: h.deleteDeployment, allow: operators},
		{pattern: "GET /admin/v1/routing", fn: h.routing, allow: readers},
		{pattern: "GET /admin/v1/usage", fn: h.usage, allow: everyone, scope: scopeUsage},
		// Raw records of every key, event and user: not scoped to an
		// organiser's events, so operators only.
		{pattern: "GET /admin/v1/usage/export", fn: h.usageExport, allow: operators},
		{pattern: "GET /admin/v1/payloads", fn: h.listPayloads, allow: operators},
		{pattern: "GET /admin/v1/payloads/{request_id}", fn: h.getPayload, allow: operators},

		{pattern: "GET /admin/v1/keys", fn: h.listKeys, allow: readers},
		{pattern: "POST /admin/v1/keys", fn: h.createKey, allow: operators},
		{pattern: "GET /admin/v1/keys/{id}", fn: h.getKey, allow: readers},
		{pattern: "PATCH /admin/v1/keys/{id}", fn: h.patchKey, allow: operators},
		{pattern: "DELETE /admin/v1/keys/{id}", fn: h.deleteKey, allow: operators},
		{pattern: "POST /admin/v1/keys/{id}/revoke", fn: h.revokeKey, allow: operators},
		{pattern: "GET /admin/v1/objects", fn: h.listObjects, allow: readers},

		{pattern: "GET /admin/v1/events", fn: h.listEvents, allow: everyone},
		{pattern: "POST /admin/v1/events", fn: h.createEvent, allow: organisers},
		{pattern: "GET /admin/v1/events/{id}", fn: h.getEvent, allow: everyone, scope: scopeEvent},
		{pattern: "PATCH /admin/v1/events/{id}", fn: h.patchEvent, allow: organisers, scope: scopeEvent},
		{pattern: "DELETE /admin/v1/events/{id}", fn: h.deleteEvent, allow: organisers, scope: scopeEvent},
		{pattern: "GET /admin/v1/events/{id}/attendees", fn: h.listAttendees, allow: everyone, scope: scopeEvent},
		{pattern: "POST /admin/v1/events/{id}/attendees", fn: h.issueAttendee, allow: organisers, scope: scopeEvent},
		{pattern: "GET /admin/v1/events/{id}/report", fn: h.eventReport, allow: everyone, scope: scopeEvent},

		{pattern: "GET /admin/v1/me", fn: h.me, allow: everyone},
		{pattern: "GET /admin/v1/admin-tokens", fn: h.listAdminTokens, allow: owners},
		{pattern: "POST /admin/v1/admin-tokens", fn: h.createAdminToken, allow: owners},
		{pattern: "DELETE /admin/v1/admin-tokens/{id}", fn: h.revokeAdminToken, allow: owners},
		{pattern: "GET /admin/v1/audit", fn: h.listAudit, allow: readers},

		{pattern: "GET /health", fn: h.health, allow: everyone},

		{pattern: "POST /model/new", fn: h.litellmNew, allow: operators},
		{pattern: "POST /model/update", fn: h.litellmUpdate, allow: operators},
		{pattern: "POST /model/delete", fn: h.litellmDelete, allow: operators},
		{pattern: "GET /model/info", fn: h.litellmInfo, allow: everyone},
		{pattern: "GET /v1/model/info", fn: h.litellmInfo, allow: everyone},
	}
	private = append(private, h.teamRoutes()...)
	private = append(private, h.litellmAccessRoutes()...)
	// The seed served these under /api/v1/; its first releases (and the
	// docs of the time) used /v1/api/.
	for _, prefix := range []string{"/api/v1/management", "/v1/api/management"} {
		private = append(private,
			route{pattern: "PATCH " + prefix + "/modeldeployment/upsert", fn: h.seedUpsert, seed: true, allow: operators},
			route{pattern: "GET " + prefix + "/modeldeployment/list/{query}", fn: h.seedList, seed: true, allow: readers},
			route{pattern: "POST " + prefix + "/events/add", fn: h.seedAddEvent, seed: true, allow: organisers},
			route{pattern: "GET " + prefix + "/events/list/{query}", fn: h.seedListEvents, seed: true, allow: everyone},
			// The seed's deprecated spellings of the same two routes.
			route{pattern: "POST " + prefix + "/addevent", fn: h.seedAddEvent, seed: true, allow: organisers},
			route{pattern: "GET " + prefix + "/listevents/{query}", fn: h.seedListEvents, seed: true, allow: everyone},
		)
	}
	for _, mux := range []struct {
		m      *http.ServeMux
		routes []route
	}{{h.public, public}, {h.private, private}} {
		allowed := map[string][]string{} // path -> methods
		for _, rt := range mux.routes {
			fn := rt.fn
			if mux.m == h.private {
				fn = h.audited(rt)
			}
			mux.m.Handle(rt.pattern, h.serve(fn, rt.seed))
			method, path, _ := strings.Cut(rt.pattern, " ")
			allowed[path] = append(allowed[path], method)
		}
		// A known path with another method: 405 in our shape, not the
		// ServeMux's plain text.
		for path, methods := range allowed {
			allow := strings.Join(methods, ", ")
			mux.m.Handle(path, h.serve(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Allow", allow)
				return errRoute(r, http.StatusMethodNotAllowed)
			}, false))
		}
	}
	h.privateRoutes = private
	h.private.Handle("/", h.serve(func(w http.ResponseWriter, r *http.Request) error {
		return errRoute(r, http.StatusNotFound)
	}, false))
}

// ServeHTTP answers the public routes (health, attendee registration,
// eventinfo) for anyone and everything else only for an admin identity
// whose role the route allows (roles.go).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.public.Handler(r); pattern != "" {
		h.public.ServeHTTP(w, r)
		return
	}
	a, err := h.identify(r)
	if err != nil {
		var known *apierror.Error
		if !errors.As(err, &known) {
			h.log.ErrorContext(r.Context(), "management API: cannot identify the caller", "err", err)
		}
		writeError(w, err, false)
		return
	}
	h.private.ServeHTTP(w, r.WithContext(auth.WithAdmin(r.Context(), a)))
}

// serve adapts a handler that returns an error: the error is rendered, and
// logged when it is not the client's.
func (h *handler) serve(fn func(http.ResponseWriter, *http.Request) error, seed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		var known *apierror.Error
		if !errors.As(err, &known) {
			h.log.ErrorContext(r.Context(), "management API error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, err, seed)
	})
}

// changed applies a successful change to this replica's router. The change
// is already stored, so a failed reload is logged, not answered: other
// replicas and the next poll pick it up.
func (h *handler) changed(ctx context.Context, action string, d store.Deployment) {
	h.log.InfoContext(ctx, "deployment "+action, "deployment", d.ID, "model", d.Model, "class", d.Class, "origin", d.Origin)
	if h.opts.Reload == nil {
		return
	}
	if err := h.opts.Reload(context.WithoutCancel(ctx)); err != nil {
		h.log.ErrorContext(ctx, "deployment stored but not yet routed here; the next poll retries", "deployment", d.ID, "err", err)
	}
}
