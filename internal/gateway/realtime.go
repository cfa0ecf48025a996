package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
)

// The Realtime API is a WebSocket, not a request and an answer: the
// client's upgrade is authenticated and admitted like a request, a
// deployment is picked and dialled (failing over while nothing has been
// relayed), and then frames go both ways unchanged until either side
// closes (realtime_relay.go). Usage arrives in each response.done event
// and is charged as it comes (realtime_usage.go).

// insecureKeyProtocol prefixes the subprotocol a browser, which cannot
// set headers on a WebSocket, sends its key in.
const insecureKeyProtocol = "openai-insecure-api-key."

// realtimeProtocol is the subprotocol a Realtime server answers with.
const realtimeProtocol = "realtime"

// errAccept means the client's WebSocket handshake was malformed; Accept
// has answered it.
var errAccept = errors.New("websocket handshake refused")

// maxRealtimeMessage bounds one WebSocket message either way: OpenAI
// takes audio appends of up to 15 MiB.
const maxRealtimeMessage = 16 << 20

func (g *Gateway) realtimeRoutes() {
	byModel := g.realtimeEndpoint("model")
	g.mux.Handle("/v1/realtime", byModel)
	g.mux.Handle(seedPrefix+"/realtime", byModel)
	for _, prefix := range azurePrefixes {
		g.mux.Handle(prefix+"/openai/v1/realtime", byModel)
		// Azure's preview form names the deployment, which is the model.
		g.mux.Handle(prefix+"/openai/realtime", g.realtimeEndpoint("deployment"))
	}
}

// realtimeEndpoint serves Realtime upgrades whose model is the query
// parameter param.
func (g *Gateway) realtimeEndpoint(param string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.streams.active.Add(1)
		defer g.streams.active.Done()
		req := &exchange{w: w, r: r, id: g.ids.next(), op: provider.Realtime, spec: provider.Realtime.Spec(), start: time.Now(), peek: noPeek}
		req.peek.Stream = true // a session is a stream of events
		req.idHeader = []string{req.id}
		w.Header()["X-Request-Id"] = req.idHeader
		// A session holds its key's parallel-request slot until it ends.
		defer g.finish(req)
		s, err := g.openRealtime(req, param)
		if errors.Is(err, errAccept) {
			// Accept has answered the client's broken handshake itself.
			g.record(req, req.res, http.StatusBadRequest)
			g.logRequest(r, req, req.res, err)
			return
		}
		err = g.internal(r, req, err)
		if err != nil {
			if req.admitted && req.res.attempts == 0 {
				g.access.Release(context.WithoutCancel(r.Context()), req.grant)
				req.admitted = false
			}
			g.record(req, req.res, statusOf(req.res, err))
			if !errors.Is(err, errClientGone) {
				apierror.Write(w, err)
			}
			g.logRequest(r, req, req.res, err)
			return
		}
		s.run()
		g.logRequest(r, req, req.res, nil)
	})
}

// openRealtime checks the upgrade, authenticates and admits the caller,
// takes a session slot, dials an upstream and accepts the client's
// WebSocket. On error nothing is held and the client has had no answer.
func (g *Gateway) openRealtime(req *exchange, param string) (*session, error) {
	r := req.r
	if r.Method != http.MethodGet {
		return nil, errMethod(req.w, r, http.MethodGet)
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		req.w.Header().Set("Upgrade", "websocket")
		return nil, &apierror.Error{Status: http.StatusUpgradeRequired, Type: apierror.TypeInvalidRequest, Code: "websocket_required",
			Message: r.URL.Path + " is the Realtime API: open it as a WebSocket (Connection: Upgrade, Upgrade: websocket), e.g. with the SDK's realtime client"}
	}
	key, protocols := realtimeProtocols(r.Header)
	p, err := g.authenticate(realtimeAuthRequest(r, key))
	if err != nil {
		var e *apierror.Error
		if errors.As(err, &e) && e.Code == "missing_api_key" {
			e.Message = "no API key provided; send it as 'Authorization: Bearer KEY', 'api-key: KEY' or, from a browser, the WebSocket subprotocol 'openai-insecure-api-key.KEY'"
		}
		return nil, err
	}
	req.principal = p
	req.model = r.URL.Query().Get(param)
	if req.model == "" {
		return nil, errBadRequest(param, "missing_model", "you must provide the %s query parameter (%s?%s=NAME); GET /v1/models lists the models your key may use", param, r.URL.Path, param)
	}
	if _, err := g.router.Pool(req.model, config.ClassRealtime); err != nil {
		return nil, routerError(err)
	}
	if err := g.admit(r, req, false); err != nil {
		return nil, err
	}
	if g.tracer != nil {
		// One span for the session, ended with its record; the upstream
		// handshake carries its trace.
		ctx := g.tracer.Extract(r.Context(), r.Header)
		ctx, req.span = g.tracer.StartRequest(ctx, req.op.String(), req.model, true, 0)
		req.r = r.WithContext(ctx)
		r = req.r
	}
	var slot *access.Slot
	if g.access != nil {
		if slot, err = g.access.OpenSession(r.Context(), p, g.realtimeSessions); err != nil {
			return nil, err
		}
	}
	up, pick, err := g.dialRealtime(req, protocols)
	if err != nil {
		slot.Close(context.WithoutCancel(r.Context()))
		return nil, err
	}
	client, err := websocket.Accept(req.w, r, &websocket.AcceptOptions{
		Subprotocols: acceptProtocols(up.Subprotocol()),
		// The key travels in a header or a subprotocol, never in a
		// cookie, so another origin's page cannot ride on it: the
		// browsers the Realtime API serves connect from any origin.
		InsecureSkipVerify: true,
	})
	if err != nil {
		up.CloseNow()
		slot.Close(context.WithoutCancel(r.Context()))
		req.res.status = http.StatusBadRequest
		return nil, errAccept
	}
	req.res.status = http.StatusSwitchingProtocols
	return g.newSession(req, client, up, pick, slot), nil
}

// dialRealtime dials the request's deployments by its plan until one
// accepts the WebSocket. A refused upgrade (429, 5xx, a refused
// connection) is reported to the router, which cools the deployment down,
// and the next is tried; an upstream's own answer to the caller (a 400,
// say) is passed on as it came.
func (g *Gateway) dialRealtime(req *exchange, protocols []string) (*websocket.Conn, router.Pick, error) {
	plan := &req.plan
	if err := g.router.StartPlan(plan, req.model, config.ClassRealtime, g.retries); err != nil {
		return nil, router.Pick{}, routerError(err)
	}
	ctx := req.r.Context()
	var lastErr error
	for {
		pick, ok := plan.Next(ctx, nil)
		if !ok {
			break
		}
		req.res.attempts = plan.Attempts()
		start := g.router.Now()
		conn, o, status, body, err := g.dialUpstream(ctx, req, pick, protocols)
		latency := g.router.Now().Sub(start)
		switch {
		case o.Verdict == router.Success:
			g.router.Report(pick, o, latency)
			req.res.deployment, req.res.pick, req.res.ttfb = pick.ID(), pick, latency
			req.w.Header().Set("X-Spillway-Deployment", pick.ID())
			req.w.Header().Set("X-Spillway-Attempts", strconv.Itoa(plan.Attempts()))
			return conn, pick, nil
		case o.Verdict == router.ClientGone:
			// As for HTTP attempts: a deployment that kept the client
			// waiting past its slow threshold is at fault.
			g.router.Report(pick, g.router.Abandoned(pick, o, latency), 0)
			return nil, pick, errClientGone
		case plan.Delivers(o):
			g.router.Report(pick, o, latency)
			req.res.deployment = pick.ID()
			req.w.Header().Set("X-Spillway-Deployment", pick.ID())
			req.w.Header().Set("X-Spillway-Attempts", strconv.Itoa(plan.Attempts()))
			return nil, pick, upstreamRefusal(o, status, body)
		}
		plan.Failed(pick, o, latency)
		lastErr = err
	}
	req.w.Header().Set("X-Spillway-Attempts", strconv.Itoa(plan.Attempts()))
	return nil, router.Pick{}, g.exhausted(req, plan.Exhausted(), lastErr)
}

// dialUpstream opens the WebSocket to pick's deployment with its own
// credentials, passing the client's subprotocols (but never its key) and
// the Realtime headers. It returns the connection, or the outcome that
// classifies the refusal and the refusal's body.
func (g *Gateway) dialUpstream(ctx context.Context, req *exchange, pick router.Pick, protocols []string) (*websocket.Conn, router.Outcome, int, []byte, error) {
	u := pick.Target.RealtimeURL()
	if u == nil {
		return nil, router.ClassifyPrepareError(ctx, errUnsupported), 0, nil, errUnsupported
	}
	h := make(http.Header, 6)
	for _, k := range forwardedHeaders {
		if v, ok := req.r.Header[k]; ok {
			h[k] = v
		}
	}
	h["X-Request-Id"] = req.idHeader
	g.tracer.Inject(ctx, h)
	if err := pick.Target.Authorize(ctx, h); err != nil {
		return nil, router.ClassifyPrepareError(ctx, err), 0, nil, err
	}
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient:   g.wsClient,
		HTTPHeader:   h,
		Subprotocols: protocols,
	})
	if err == nil {
		conn.SetReadLimit(maxRealtimeMessage)
		return conn, router.Outcome{Verdict: router.Success}, 0, nil, nil
	}
	if resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		return nil, router.ClassifyError(ctx, err), 0, nil, err
	}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}
	return nil, router.ClassifyResponse(resp.StatusCode, resp.Header, body, g.router.Now()), resp.StatusCode, body, err
}

// upstreamRefusal passes an upstream's answer to the caller on: its
// status, and its OpenAI-shaped error when it sent one.
func upstreamRefusal(o router.Outcome, status int, body []byte) error {
	e := &apierror.Error{Status: status, Type: apierror.TypeInvalidRequest, Code: o.Code,
		Message: "the upstream refused the Realtime session: " + o.Reason}
	if status < 400 {
		e.Status, e.Type = http.StatusBadGateway, apierror.TypeUpstream
	}
	if e.Code == "" {
		e.Code = "upstream_refused"
	}
	var w struct {
		Error struct {
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && w.Error.Message != "" {
		e.Message, e.Param = w.Error.Message, w.Error.Param
	}
	return e
}

// realtimeProtocols splits the client's subprotocols into its key (sent by
// browsers as openai-insecure-api-key.KEY) and the rest, which go
// upstream.
func realtimeProtocols(h http.Header) (key string, rest []string) {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == "":
			case strings.HasPrefix(p, insecureKeyProtocol):
				key = p[len(insecureKeyProtocol):]
			default:
				rest = append(rest, p)
			}
		}
	}
	return key, rest
}

// realtimeAuthRequest is r with the subprotocol key as its bearer token
// when r has no key header, so one authenticate serves every form.
func realtimeAuthRequest(r *http.Request, key string) *http.Request {
	if key == "" || r.Header.Get("Authorization") != "" || r.Header.Get("Api-Key") != "" {
		return r
	}
	c := r.Clone(r.Context())
	c.Header.Set("Authorization", "Bearer "+key)
	return c
}

// acceptProtocols is what the gateway agrees to with the client: the
// upstream's choice, and realtime, which OpenAI's browser clients offer.
func acceptProtocols(upstream string) []string {
	if upstream == "" || upstream == realtimeProtocol {
		return []string{realtimeProtocol}
	}
	return []string{upstream, realtimeProtocol}
}

// headerHasToken reports whether a comma-separated header lists token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// newWebSocketClient is the HTTP client upstream WebSockets are dialled
// with: the gateway's transport, kept on HTTP/1.1, where upgrades live.
func newWebSocketClient(t http.RoundTripper) *http.Client {
	if gt, ok := t.(*Transport); ok {
		t = gt.std
	}
	if ht, ok := t.(*http.Transport); ok {
		c := ht.Clone()
		c.ForceAttemptHTTP2 = false
		c.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		if c.TLSClientConfig != nil {
			c.TLSClientConfig.NextProtos = nil
		}
		t = c
	}
	return &http.Client{Transport: t}
}
