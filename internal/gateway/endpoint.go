package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/tracing"
)

// exchange is one client request on its way through the gateway: where
// the answer goes, what the client asked (its operation's row, the body and
// what was peeked at, the caller, what access granted), and what was sent
// back so far. The attempt loop, the responders and the usage record all
// read and fill it, instead of passing a dozen values between them.
type exchange struct {
	w http.ResponseWriter
	// r is the client's request; its context is the client's, cancelled
	// when the client leaves.
	r *http.Request
	// res is what the client got.
	res result
	// plan is the attempt loop's way through the deployments.
	plan router.Plan
	// pending are the caller's counted limits when admission left them to
	// the first pick (access.Request.Pending), and rider carries them
	// there (router.Rider): one limiter call for the caller's limits and
	// the deployment's. pending is pooled, and given back once a pick
	// took it (releasePending): a held stream does not keep it. Taken
	// alone, it is the grant's record of what was taken until done has
	// given that back (access.Checker.Release).
	pending *access.Pending
	rider   router.Rider

	id       string
	idHeader []string // []string{id}, shared by the response and upstream headers
	op       provider.Operation
	// admitted is false when the request never got as far as grant
	// (below); it sits by op, not padded to 8 bytes on its own.
	admitted bool
	spec     *provider.Spec // op's row
	model    string
	body     []byte
	peek     peeked
	// contentType is the client's, sent upstream with a multipart body.
	contentType []string
	// sticky is the deployment an object lives on, when the request is a
	// follow-up that only it can answer; object names the object (its
	// upstream id goes in the URL) and prev a previous_response_id.
	sticky string
	object objectRef
	prev   objectRef
	// sub is the object below object that the path names (a vector
	// store's file or file batch).
	sub objectRef
	// conv is the conversation a Responses request continues.
	conv objectRef
	// usageBody is body with stream_options.include_usage added; nil when
	// not needed. Its peeked spans are computed when it is sent
	// (exchange.usagePeek): the exchange is held for a stream's whole
	// life, and 152 bytes more put it in a larger size class.
	usageBody []byte
	// upload is a streamed body (BodyStream) once it is being sent.
	upload *formStream
	// boundary is the streamed body's multipart boundary.
	boundary  string
	principal *auth.Principal
	// grant is what the access checker admitted, settled once the usage
	// is known; admitted (above) is false when it never got that far.
	grant  access.Grant
	prompt int64 // estimated prompt tokens, 0 until asked for
	// meter is res.meter's storage, part of the exchange so that an
	// answer costs no allocation of its own for it.
	meter meter
	// answer is the attempt whose answer respond started (its status and
	// headers are set) and sendBody is to send.
	answer *upstream
	start  time.Time
	span   *tracing.Span // nil when tracing is off
}

// endpoint serves the operations of one route, one per method. fromPath
// is true for Azure-style routes, where the URL names the model.
func (g *Gateway) endpoint(ops []provider.Operation, fromPath bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := opFor(ops, r.Method)
		if !ok {
			apierror.Write(w, errMethod(w, r, allowed(ops)))
			return
		}
		g.serveOp(w, r, op, fromPath)
	})
}

// serveOp serves one request: serve picks a deployment and starts the
// answer, sendBody sends the rest of it, done records and logs it.
//
// The three run one after the other, in a frame of their own kept small,
// because the stack a stream is held on is the deepest it ever was: the
// first flush writes the answer's headers through net/http's
// chunkWriter.writeHeader, whose frame is 2.8 KiB, and below serve,
// forward and respond that took the connection's goroutine past its 8 KiB
// stack to 16 KiB for the whole life of the stream (8 KiB of RSS per held
// stream). TestStreamFirstFlushIsShallow pins it.
func (g *Gateway) serveOp(w http.ResponseWriter, r *http.Request, op provider.Operation, fromPath bool) {
	g.streams.active.Add(1)
	defer g.streams.active.Done()
	req := &exchange{w: w, r: r, id: g.ids.next(), op: op, spec: op.Spec(), start: time.Now()}
	req.idHeader = []string{req.id}
	w.Header()["X-Request-Id"] = req.idHeader
	// However the request ends, a panic and a client gone included,
	// its parallel-request slot is given back.
	defer g.finish(req)
	err := g.serve(req, fromPath)
	if req.answer != nil {
		err = g.sendBody(req)
	}
	g.done(req, err)
}

// done ends a request once its answer is sent or failed: the usage
// record, the log line, the error answer or the aborted connection.
//
//go:noinline
func (g *Gateway) done(req *exchange, err error) {
	r, w := req.r, req.w
	if req.upload != nil {
		req.upload.wait()
	}
	res := req.res
	err = g.internal(r, req, err)
	if err != nil && res.attempts == 0 && req.admitted {
		// Admitted but never sent: it must not count against the
		// caller's limits.
		g.access.Release(context.WithoutCancel(r.Context()), req.grant)
		req.admitted = false
	}
	if req.pending != nil {
		releasePending(req)
	}
	status := statusOf(res, err)
	g.record(req, res, status)
	g.followBackground(req, res)
	if errors.Is(err, errAbort) {
		g.logRequest(r, req, res, err)
		// The response is already under way; only an aborted
		// connection tells the client it is incomplete.
		panic(http.ErrAbortHandler)
	}
	if err != nil && !errors.Is(err, errClientGone) {
		apierror.Write(w, err)
	}
	g.logRequest(r, req, res, err)
}

func (g *Gateway) serve(req *exchange, fromPath bool) error {
	r := req.r
	p, err := g.authenticate(r)
	if err != nil {
		return err
	}
	req.principal = p
	if err := g.readRequest(r, req); err != nil {
		return err
	}
	switch {
	case req.op == provider.ImageOperation:
		req.model = r.PathValue("model")
		req.sticky = r.PathValue(pathDeployment)
		req.object = objectRef{id: r.PathValue(pathOperation), deployment: req.sticky, upstream: r.PathValue(pathUpstreamOperation)}
	case req.spec.Object:
		if err := g.resolveObject(r, req); err != nil {
			return err
		}
		if req.spec.Kind != "" && req.spec.Body == provider.BodyJSON {
			if err := g.translateIDs(req); err != nil {
				return err
			}
		}
	case req.spec.Kind != "":
		if err := g.placeObject(r, req); err != nil {
			return err
		}
	case fromPath:
		req.model = r.PathValue("model")
	default:
		req.model = req.peek.Model
	}
	if req.model == "" {
		msg := "you must provide a model parameter; GET /v1/models lists the models your key may use"
		if req.spec.Body == provider.BodyMultipart {
			msg = "you must provide a model parameter (the form field 'model'); GET /v1/models lists the models your key may use"
		}
		return errBadRequest("model", "missing_model", "%s", msg)
	}
	if req.peek.Previous != "" {
		if err := g.resolvePrevious(req); err != nil {
			return err
		}
	}
	if req.op == provider.Responses {
		if err := g.resolveConversation(req); err != nil {
			return err
		}
		if err := g.resolveVectorStores(req); err != nil {
			return err
		}
	}
	if req.sticky == "" {
		// An unknown model is answered before the limits count the request.
		if _, err := g.router.Pool(req.model, req.op.Class()); err != nil {
			return routerError(err)
		}
	}
	if err := g.admit(r, req, req.sticky == ""); err != nil {
		return err
	}
	prepareStreamUsage(req)
	if g.tracer != nil {
		ctx := g.tracer.Extract(r.Context(), r.Header)
		ctx, req.span = g.tracer.StartRequest(ctx, req.op.String(), req.model, req.peek.Stream, req.peek.MaxTokens)
		req.r = r.WithContext(ctx)
	}
	return g.forward(req)
}

// readRequest reads and peeks at the body as the operation's row says: a
// JSON object, a multipart form, a body forwarded unread, or none.
func (g *Gateway) readRequest(r *http.Request, req *exchange) error {
	req.peek = noPeek
	if req.spec.Body == provider.BodyNone {
		return nil
	}
	limit := max(g.maxBody, req.spec.MaxBody)
	if req.spec.Body == provider.BodyStream {
		// Checked now, streamed once a deployment is picked.
		if req.op == provider.FileCreate {
			limit = g.maxFile
		}
		var err error
		req.boundary, err = checkStreamForm(r, limit)
		if err == nil {
			r.Body = http.MaxBytesReader(req.w, r.Body, limit)
		}
		return err
	}
	var err error
	if req.body, err = readBody(r, limit); err != nil {
		return err
	}
	switch req.spec.Body {
	case provider.BodyOpaque:
		return nil
	case provider.BodyMultipart:
		req.contentType = r.Header["Content-Type"]
		req.peek, err = peekMultipart(r.Header.Get("Content-Type"), req.body)
	default:
		req.peek, err = peekCap(req.body, req.spec.Cap == "max_output_tokens")
		if err == nil && req.op == provider.ImagesSubmit && req.peek.Model == "" {
			req.peek.Model = DefaultSubmitModel
		}
	}
	if err == nil {
		return nil
	}
	// Declared only on an error: errors.As moves fe to the heap.
	if fe := (*fieldError)(nil); errors.As(err, &fe) {
		return errBadRequest(fe.field, "invalid_value", "%s", fe.msg)
	}
	return errBadRequest("", "invalid_json", "%s", err.Error())
}

// internal sorts out an error that is neither an answer of the gateway's
// nor one of its markers (a limiter's or the router's own failure): one
// because the client left is errClientGone; any other is logged here, since
// apierror.Write answers it as an internal error without its text.
func (g *Gateway) internal(r *http.Request, req *exchange, err error) error {
	if err == nil {
		return nil
	}
	var e *apierror.Error
	if errors.As(err, &e) || errors.Is(err, errAbort) || errors.Is(err, errClientGone) {
		return err
	}
	if r.Context().Err() != nil {
		return errClientGone
	}
	g.log.Error("request failed", "request_id", req.id, "err", err)
	return err
}

// statusClientClosed is logged when the client left before the answer
// was complete (nginx's and Caddy's 499).
const statusClientClosed = 499

// statusOf is the status the client got.
func statusOf(res result, err error) int {
	if err == nil {
		// Most requests: errors.As would move e to the heap for nothing.
		return res.status
	}
	var e *apierror.Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, errClientGone):
		return statusClientClosed
	case err != nil && !errors.Is(err, errAbort):
		return http.StatusInternalServerError // what apierror.Write answers
	}
	return res.status
}

// levelRequest is the level of the one line logged per request.
const levelRequest = slog.LevelInfo

func (g *Gateway) logRequest(r *http.Request, req *exchange, res result, err error) {
	ctx := r.Context()
	if !g.log.Enabled(ctx, levelRequest) {
		return
	}
	status := statusOf(res, err)
	key := ""
	if req.principal != nil {
		key = req.principal.KeyID
	}
	g.log.LogAttrs(ctx, levelRequest, "request",
		slog.String("request_id", req.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("key", key),
		slog.String("model", req.model),
		slog.String("deployment", res.deployment),
		slog.Int("status", status),
		slog.Int("attempts", res.attempts),
		slog.Bool("stream", req.peek.Stream),
		slog.Duration("duration", time.Since(req.start)),
		slog.Duration("ttfb", res.ttfb),
	)
}
