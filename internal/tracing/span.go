package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/spillwayhq/spillway/internal/usage"
)

// Span is a request span or an upstream attempt span. A nil *Span, which a
// nil Tracer hands out, ignores every call.
type Span struct {
	span trace.Span
	// op is gen_ai.operation.name, which attempts take from their request.
	op string

	// For an attempt: its request, and what the request learns from it
	// when it succeeds.
	parent   *Span
	provider string
	model    string

	// For a request: the attempt that succeeded last. Atomic because a
	// straggling attempt may end while the request does.
	winner atomic.Pointer[Span]
}

// requestKey is the context key of the request *Span, through which
// StartAttempt finds the operation and the span to report success to.
type requestKey struct{}

// spanName follows the conventions' "{gen_ai.operation.name}
// {gen_ai.request.model}", falling back to fallback without an operation.
func spanName(op, model, fallback string) string {
	switch {
	case op == "":
		return fallback
	case model == "":
		return op
	default:
		return op + " " + model
	}
}

// StartRequest starts the span of a client request, of kind server, as a
// child of any span in ctx (see Extract). op is the gateway's operation
// (chat, completions, embeddings, images), model the public model asked
// for, maxTokens the request's max_tokens or 0 when it set none. End it
// with EndRequest; pass the returned context to StartAttempt.
func (t *Tracer) StartRequest(ctx context.Context, op, model string, stream bool, maxTokens int64) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	name := operationName(op)
	attrs := make([]attribute.KeyValue, 0, 6)
	if name != "" {
		attrs = append(attrs, KeyOperationName.String(name))
	}
	if model != "" {
		attrs = append(attrs, KeyRequestModel.String(model))
	}
	attrs = append(attrs, KeyRequestStream.Bool(stream))
	if op != "" {
		attrs = append(attrs, KeyGatewayEndpoint.String(op))
	}
	if maxTokens > 0 {
		attrs = append(attrs, KeyRequestMaxTokens.Int64(maxTokens))
	}
	if name == OperationGenerateContent {
		attrs = append(attrs, KeyOutputType.String(OutputTypeImage))
	}
	ctx, sp := t.tracer.Start(ctx, spanName(name, model, "spillway.request"),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	s := &Span{span: sp, op: name}
	if sp.IsRecording() {
		ctx = context.WithValue(ctx, requestKey{}, s)
	}
	return ctx, s
}

// StartAttempt starts the span of one upstream attempt, of kind client, as
// a child of the request span in ctx. provider is the deployment's provider
// kind (azure, openai, openai-compatible), upstreamModel the model the
// upstream is asked for, host the upstream's host, host:port or base URL,
// and attempt the attempt's 1-based number. End it with EndAttempt; pass
// the returned context to Inject.
func (t *Tracer) StartAttempt(ctx context.Context, deploymentID, provider, upstreamModel, host string, attempt int) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	parent, _ := ctx.Value(requestKey{}).(*Span)
	s := &Span{parent: parent, provider: providerName(provider), model: upstreamModel}
	if parent != nil {
		s.op = parent.op
	}
	attrs := make([]attribute.KeyValue, 0, 7)
	if s.op != "" {
		attrs = append(attrs, KeyOperationName.String(s.op))
	}
	if s.provider != "" {
		attrs = append(attrs, KeyProviderName.String(s.provider))
	}
	if upstreamModel != "" {
		attrs = append(attrs, KeyRequestModel.String(upstreamModel))
	}
	if host != "" {
		addr, port := serverAddress(host)
		attrs = append(attrs, KeyServerAddress.String(addr))
		if port > 0 {
			attrs = append(attrs, KeyServerPort.Int(port))
		}
	}
	if deploymentID != "" {
		attrs = append(attrs, KeyDeploymentID.String(deploymentID))
	}
	attrs = append(attrs, KeyAttempt.Int(attempt))
	ctx, s.span = t.tracer.Start(ctx, spanName(s.op, upstreamModel, "spillway.attempt"),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, s
}

// EndAttempt ends an attempt span. status is the upstream's HTTP status, 0
// when none came; verdict is the failure classifier's word for a failed
// attempt (rate-limited, transient, ...); err is what went wrong, if
// anything, including a stream that broke after a 200. An attempt failed
// when it has an error, no status or a status of 400 or more: its span
// gets error.type (the verdict, else the status, else the error's type)
// and status Error. A successful attempt gives its request span the
// provider and the response model.
func (s *Span) EndAttempt(status int, verdict string, err error) {
	if s == nil {
		return
	}
	if s.span.IsRecording() {
		if status > 0 {
			s.span.SetAttributes(KeyHTTPResponseStatusCode.Int(status))
		}
		if err != nil || status == 0 || status >= 400 {
			s.span.SetAttributes(KeyErrorType.String(attemptErrorType(status, verdict, err)))
			s.span.SetStatus(codes.Error, attemptDescription(status, verdict, err))
		} else if s.parent != nil {
			s.parent.winner.Store(s)
		}
	}
	s.span.End()
}

// attemptErrorType is a failed attempt's error.type: low-cardinality, as
// the conventions ask.
func attemptErrorType(status int, verdict string, err error) string {
	switch {
	case verdict != "":
		return verdict
	case status >= 400:
		return strconv.Itoa(status)
	case err != nil:
		return errorType(err)
	default:
		return errorTypeOther
	}
}

// attemptDescription is a failed attempt's span status description.
func attemptDescription(status int, verdict string, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case status > 0:
		return http.StatusText(status)
	default:
		return verdict
	}
}

// errorType names err's kind the way the error conventions suggest: a
// timeout or cancellation by that word, an error with an ErrorType method
// by its answer, else by its type under any fmt.Errorf wrapping.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var et interface{ ErrorType() string }
	if errors.As(err, &et) {
		if s := et.ErrorType(); s != "" {
			return s
		}
	}
	for {
		u := errors.Unwrap(err)
		if u == nil || reflect.TypeOf(err) != fmtWrapError {
			break
		}
		err = u
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() != "" && t.Name() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// fmtWrapError is the type of fmt.Errorf's single-%w wrapper.
var fmtWrapError = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))

// EndRequest ends a request span with what its usage record says: status,
// token usage, the deployment that answered, attempts and cost. A status of
// 500 or more is an error (a 499, the client leaving, is not); a 4xx is the
// client's error, not the gateway's, as the HTTP server conventions have it.
func (s *Span) EndRequest(r usage.Record) {
	if s == nil {
		return
	}
	if s.span.IsRecording() {
		s.span.SetAttributes(requestAttributes(s, r)...)
		if r.Status >= 500 {
			s.span.SetStatus(codes.Error, http.StatusText(r.Status))
		}
	}
	s.span.End()
}

// requestAttributes are the attributes EndRequest sets.
func requestAttributes(s *Span, r usage.Record) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 16)
	if r.Status > 0 {
		attrs = append(attrs, KeyHTTPResponseStatusCode.Int(r.Status))
	}
	if r.Status >= 500 {
		attrs = append(attrs, KeyErrorType.String(strconv.Itoa(r.Status)))
	}
	if w := s.winner.Load(); w != nil {
		if w.provider != "" {
			attrs = append(attrs, KeyProviderName.String(w.provider))
		}
		if w.model != "" {
			attrs = append(attrs, KeyResponseModel.String(w.model))
		}
	}
	if r.PromptTokens > 0 || r.CompletionTokens > 0 {
		attrs = append(attrs,
			KeyUsageInputTokens.Int(r.PromptTokens),
			KeyUsageOutputTokens.Int(r.CompletionTokens))
		if r.Estimated {
			attrs = append(attrs, KeyUsageEstimated.Bool(true))
		}
	}
	if r.Stream && r.TTFB > 0 {
		attrs = append(attrs, KeyTimeToFirstChunk.Float64(r.TTFB.Seconds()))
	}
	if r.Deployment != "" {
		attrs = append(attrs, KeyDeploymentID.String(r.Deployment))
	}
	attrs = append(attrs, KeyAttempts.Int(r.Attempts))
	if r.Cost > 0 {
		attrs = append(attrs, KeyCostUSD.Float64(r.Cost))
	}
	if r.RequestID != "" {
		attrs = append(attrs, KeyRequestID.String(r.RequestID))
	}
	if r.KeyID != "" {
		attrs = append(attrs, KeyKeyID.String(r.KeyID))
	}
	if r.EventID != "" {
		attrs = append(attrs, KeyEventID.String(r.EventID))
	}
	return attrs
}
