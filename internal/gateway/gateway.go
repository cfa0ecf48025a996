// Package gateway is the data plane: the http.Handler that authenticates a
// client, reads and peeks at its request, asks the router for deployments,
// runs the attempt loop, and streams the answer back. OpenAI-style and
// Azure-style URLs land on the same path through it.
package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/tracing"
)

// Options configure a Gateway. Zero values take the config defaults.
type Options struct {
	Router *router.Router
	Auth   auth.Authenticator
	// Transport sends upstream requests. Default NewTransport with the
	// default timeouts.
	Transport http.RoundTripper
	// Retries is how many further deployments are tried after the first.
	// Negative means none.
	Retries int
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64
	// IdleTimeout bounds the silence between two reads of an upstream body.
	IdleTimeout time.Duration
	// Logger gets one line per request. Default slog.Default().
	Logger *slog.Logger
	// Recorder gets every request's usage record; nil records nothing.
	Recorder Recorder
	// LogPayloads stores every request's prompt and answer in its usage
	// record; a principal can also ask for it per key.
	LogPayloads bool
	// Tracer makes a span per request and per upstream attempt; nil traces
	// nothing and costs nothing.
	Tracer *tracing.Tracer
	// Access admits requests by the caller's event, allow-lists, caps and
	// limits; nil admits every authenticated request.
	Access *access.Checker
	// Claims remembers which background responses' usage has been
	// recorded, so the poll that first sees one finished charges it and
	// later polls do not: pass the shared (Redis) limiter so replicas
	// agree. Default: one in memory, per process.
	Claims limits.Limiter
	// OperationKey signs the DALL-E 2 operation ids handed to clients;
	// replicas that share it route each other's polls. Derive it from the
	// secret key with OperationKey. Default: random per process.
	OperationKey []byte
	// RealtimeSessions caps the Realtime sessions one key holds open at
	// once, counted in Access's limiter (shared by replicas on Redis).
	// Default 0: no cap.
	RealtimeSessions int
	// Objects records the files, uploads and batches handed out, for
	// lists and the batch follower; nil lists nothing (501).
	Objects ObjectRegistry
	// MaxFileBytes caps one uploaded file (POST /v1/files). Default
	// provider.MaxFileBody, OpenAI's limit.
	MaxFileBytes int64
}

// Gateway is the data-plane handler.
type Gateway struct {
	router    *router.Router
	auth      auth.Authenticator
	transport http.RoundTripper
	retries   int
	maxBody   int64
	idle      time.Duration
	log       *slog.Logger
	recorder  Recorder
	tracer    *tracing.Tracer
	payloads  bool
	access    *access.Checker
	prices    sync.Map // model -> priceEntry
	mux       *routeMux
	ids       requestIDs
	opKey     []byte
	macs      sync.Pool // *macState: HMAC-SHA256 states keyed with opKey
	streams   streams
	claims    limits.Limiter
	// Realtime sessions: live ones (for shutdown), the per-key cap, and
	// the HTTP/1.1 client upstream WebSockets are dialled with.
	sessions         sessions
	realtimeSessions int
	wsClient         *http.Client
	objects          ObjectRegistry
	maxFile          int64
}

// New returns a gateway.
func New(o Options) *Gateway {
	g := &Gateway{
		router: o.Router, auth: o.Auth, transport: o.Transport,
		retries: max(o.Retries, 0), maxBody: o.MaxBodyBytes, idle: o.IdleTimeout, log: o.Logger, recorder: o.Recorder, tracer: o.Tracer, payloads: o.LogPayloads, access: o.Access,
	}
	if g.transport == nil {
		g.transport = NewTransport(config.DefaultConnectTimeout, config.DefaultFirstByteTimeout)
	}
	if g.maxBody <= 0 {
		g.maxBody = config.DefaultMaxBodyBytes
	}
	if g.idle <= 0 {
		g.idle = config.DefaultIdleTimeout
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.claims = o.Claims; g.claims == nil {
		g.claims = limits.NewMemory(time.Now)
	}
	if g.opKey = o.OperationKey; len(g.opKey) == 0 {
		g.opKey = randomOperationKey()
	}
	g.realtimeSessions = o.RealtimeSessions
	g.wsClient = newWebSocketClient(g.transport)
	g.objects, g.maxFile = o.Objects, o.MaxFileBytes
	if g.maxFile <= 0 {
		g.maxFile = provider.MaxFileBody
	}
	g.ids.init()
	g.mux = &routeMux{ServeMux: http.NewServeMux()}
	g.routes()
	return g
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/indexes(") || strings.HasPrefix(r.URL.Path, seedPrefix+"/indexes(") {
		r = searchODataPath(r)
	}
	g.mux.ServeHTTP(w, r)
}

// seedPrefix is where the Azure OpenAI Service Proxy that Spillway
// replaces served its routes: /api/v1/openai/deployments/..., and so
// /api/v1/chat/completions for the OpenAI style.
const seedPrefix = "/api/v1"

// errMethod answers a route called with the wrong method.
func errMethod(w http.ResponseWriter, r *http.Request, allow string) error {
	w.Header().Set("Allow", allow)
	return &apierror.Error{Status: http.StatusMethodNotAllowed, Message: r.URL.Path + " takes " + allow + ", not " + r.Method, Type: apierror.TypeInvalidRequest, Code: "method_not_allowed"}
}

func onlyGET(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return errMethod(w, r, http.MethodGet)
		}
		return h(w, r)
	}
}

// handle adapts a handler that returns an error to http.Handler.
func (g *Gateway) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			apierror.Write(w, err)
		}
	})
}

// authenticate returns the caller, or a 401 that says what to fix.
func (g *Gateway) authenticate(r *http.Request) (*auth.Principal, error) {
	key, err := auth.KeyFromRequest(r)
	if err == nil {
		var p *auth.Principal
		if p, err = g.auth.Authenticate(r.Context(), key); err == nil {
			return p, nil
		}
	}
	msg := "invalid API key; check the key you were given"
	code := "invalid_api_key"
	var state *auth.KeyStateError
	if errors.As(err, &state) {
		msg, code = state.Error()+"; ask the operator for a new key", "api_key_expired"
		if state.Revoked {
			code = "api_key_revoked"
		}
	} else if te := (*auth.TokenError)(nil); errors.As(err, &te) {
		msg, code = te.Error(), "invalid_token"
	} else if errors.Is(err, auth.ErrNoKey) {
		msg = "no API key provided; send it as 'Authorization: Bearer KEY' or 'api-key: KEY'"
		code = "missing_api_key"
	} else if !errors.Is(err, auth.ErrInvalidKey) {
		g.log.Error("authentication failed", "err", err)
		return nil, &apierror.Error{Status: http.StatusServiceUnavailable, Message: "could not check the API key right now; retry shortly", Type: apierror.TypeServer, Code: "auth_unavailable"}
	}
	return nil, &apierror.Error{Status: http.StatusUnauthorized, Message: msg, Type: apierror.TypeAuthentication, Code: code}
}

// requestIDs makes unique request ids cheaply: a random per-process prefix
// and a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func (r *requestIDs) init() {
	var b [6]byte
	_, _ = rand.Read(b[:])
	r.prefix = "req_" + hex.EncodeToString(b[:]) + "_"
}

func (r *requestIDs) next() string {
	var b [48]byte
	out := append(b[:0], r.prefix...)
	return string(strconv.AppendUint(out, r.n.Add(1), 36))
}
