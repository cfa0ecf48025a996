// Package tracing is Spillway's optional OpenTelemetry tracing: a server
// span for each client request and a client span for each upstream attempt
// under it, named and attributed after the OpenTelemetry GenAI semantic
// conventions, exported over OTLP/HTTP. It is off by default; then New
// returns a nil *Tracer, whose methods (and those of the nil *Span it
// hands out) do nothing and allocate nothing, so the gateway calls them
// unconditionally. The W3C traceparent of an incoming request is continued
// (Extract) and passed upstream (Inject).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the instrumentation scope of every span.
const instrumentationName = "github.com/spillwayhq/spillway/internal/tracing"

// defaultEndpoint is OTLP/HTTP's default collector address.
const defaultEndpoint = "http://localhost:4318"

// exportTimeout bounds one export request, as OTLP's default timeout does.
const exportTimeout = 10 * time.Second

// Options configures tracing. The zero value is tracing off.
type Options struct {
	// Endpoint is the OTLP/HTTP collector's base URL, such as
	// http://127.0.0.1:4318; spans are POSTed to its /v1/traces unless the
	// path already ends so. Setting it turns tracing on. Default "": the
	// endpoint comes from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT when Enabled is true, else it is
	// http://localhost:4318.
	Endpoint string
	// Enabled turns tracing on without an Endpoint, for an endpoint given
	// by the environment. Default false.
	Enabled bool
	// ServiceName is the service.name resource attribute. Default
	// "spillway", or OTEL_SERVICE_NAME when that is set.
	ServiceName string
	// SampleRatio is the fraction of new traces recorded, in [0, 1]; 0 and
	// 1 both mean every trace. A request that arrives with a traceparent
	// follows its caller's sampling decision instead.
	SampleRatio float64
}

// on reports whether o turns tracing on.
func (o Options) on() bool { return o.Enabled || o.Endpoint != "" }

// Validate reports the first field of o that cannot be used.
func (o Options) Validate() error {
	if math.IsNaN(o.SampleRatio) || o.SampleRatio < 0 || o.SampleRatio > 1 {
		return fmt.Errorf("tracing: SampleRatio %v is outside [0, 1]; use 0 or 1 to record every trace", o.SampleRatio)
	}
	if o.Endpoint != "" {
		if _, err := tracesURL(o.Endpoint); err != nil {
			return err
		}
	}
	return nil
}

// tracesURL turns Endpoint into the URL spans are POSTed to.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tracing: Endpoint %q is not an http:// or https:// URL; use e.g. http://127.0.0.1:4318", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// sampler is parent-based, so a sampled client trace is always continued.
func (o Options) sampler() sdktrace.Sampler {
	if o.SampleRatio == 0 || o.SampleRatio == 1 {
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))
}

// Tracer starts Spillway's spans. A nil *Tracer is tracing off: all its
// methods are no-ops. It is safe for concurrent use.
type Tracer struct {
	tracer trace.Tracer
	// provider and transport are set when New built the exporter, which
	// Shutdown then stops; nil for NewWithProvider.
	provider  *sdktrace.TracerProvider
	transport *http.Transport
}

// New returns a Tracer exporting to the OTLP/HTTP collector o names, or nil
// when o leaves tracing off. Spans are exported in batches in the
// background; call Shutdown to flush them and stop the exporter.
func New(ctx context.Context, o Options) (*Tracer, error) {
	if !o.on() {
		return nil, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	// The exporter gets a transport of its own so that Shutdown can close
	// its idle connections: the exporter's shared default transport would
	// keep their goroutines alive after Shutdown. The price is that
	// OTEL_EXPORTER_OTLP_CERTIFICATE and OTEL_EXPORTER_OTLP_TIMEOUT are not
	// read.
	transport := newTransport()
	endpoint := ""
	if o.Endpoint != "" {
		u, err := tracesURL(o.Endpoint)
		if err != nil {
			return nil, err
		}
		endpoint = u
	}
	client, err := newOTLPClient(endpoint, &http.Client{Transport: transport, Timeout: exportTimeout})
	if err != nil {
		return nil, err
	}
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := newResource(ctx, o.ServiceName)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(o.sampler()),
	)
	t := NewWithProvider(tp)
	t.provider, t.transport = tp, transport
	return t, nil
}

// newTransport clones http.DefaultTransport's settings.
func newTransport() *http.Transport {
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		return dt.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
}

// newResource describes the process. service.name is serviceName, else
// OTEL_SERVICE_NAME, else "spillway"; OTEL_RESOURCE_ATTRIBUTES adds to it.
func newResource(ctx context.Context, serviceName string) (*resource.Resource, error) {
	opts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", "spillway")),
		resource.WithFromEnv(), // later options win
	}
	if serviceName != "" {
		opts = append(opts, resource.WithAttributes(attribute.String("service.name", serviceName)))
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource (check OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}

// NewWithProvider returns a Tracer whose spans come from tp, for tests and
// for a process that has its own provider; Shutdown leaves tp alone. A nil
// tp returns a nil Tracer.
func NewWithProvider(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{tracer: tp.Tracer(instrumentationName, trace.WithSchemaURL(SchemaURL))}
}

// Shutdown flushes the spans not yet exported and stops the exporter and
// its goroutines, waiting at most until ctx is done. Spans started after it
// are dropped. It is a no-op for a nil Tracer and one from NewWithProvider.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	t.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Extract returns ctx carrying the remote span context of h's W3C
// traceparent and tracestate, so the request span continues the client's
// trace. A nil Tracer returns ctx.
func (t *Tracer) Extract(ctx context.Context, h http.Header) context.Context {
	if t == nil {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes the W3C traceparent and tracestate of ctx's span into h,
// the headers of an upstream request, so the upstream's spans join the
// trace. A nil Tracer writes nothing.
func (t *Tracer) Inject(ctx context.Context, h http.Header) {
	if t == nil {
		return
	}
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}
