package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// otlpClient uploads spans to an OTLP/HTTP collector in protobuf, for
// go.opentelemetry.io/otel/exporters/otlp/otlptrace, which batches spans
// and turns them into OTLP messages. It stands in for otlptracehttp, the
// official client, because that one links gRPC, gRPC-Gateway and
// x/net/trace for its shared gRPC options; x/net/trace's templates in turn
// keep the linker from dropping unused methods anywhere in the binary,
// which cost 9 MB of the image. What it reads from the environment:
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) or
// OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, /v1/traces added) when no
// Endpoint is configured; OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_EXPORTER_OTLP_TRACES_HEADERS (key=value pairs, comma separated,
// values URL-encoded); OTEL_EXPORTER_OTLP_COMPRESSION and
// OTEL_EXPORTER_OTLP_TRACES_COMPRESSION (gzip or none).
type otlpClient struct {
	url    string
	header http.Header
	gzip   bool
	hc     *http.Client
	// retryBase is the first wait after a retryable failure; it doubles.
	retryBase time.Duration

	stopOnce sync.Once
	stopped  chan struct{}
}

// newOTLPClient returns a client for the collector endpoint (a full
// /v1/traces URL, or "" for the environment's or the default).
func newOTLPClient(endpoint string, hc *http.Client) (*otlpClient, error) {
	c := &otlpClient{url: endpoint, header: http.Header{}, hc: hc, retryBase: time.Second, stopped: make(chan struct{})}
	if c.url == "" {
		if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
			c.url = v // used as given, per the OTLP exporter specification
		} else if v := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
			u, err := tracesURL(v)
			if err != nil {
				return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
			}
			c.url = u
		} else {
			c.url = defaultEndpoint + "/v1/traces"
		}
	}
	if u, err := url.Parse(c.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint %q is not an http:// or https:// URL", c.url)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if err := parseOTLPHeaders(c.header, os.Getenv(name)); err != nil {
			return nil, fmt.Errorf("tracing: %s: %w", name, err)
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"} {
		switch v := os.Getenv(name); v {
		case "":
		case "gzip":
			c.gzip = true
		case "none":
			c.gzip = false
		default:
			return nil, fmt.Errorf("tracing: %s is %q; use gzip or none", name, v)
		}
	}
	c.header.Set("Content-Type", "application/x-protobuf")
	c.header.Set("User-Agent", "spillway-otlp-exporter")
	return c, nil
}

// parseOTLPHeaders adds the headers of an OTEL_EXPORTER_OTLP_HEADERS value
// ("k1=v1,k2=v2", values URL-encoded) to h; a later value replaces one
// set before.
func parseOTLPHeaders(h http.Header, s string) error {
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", pair)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("the value of %q is not URL-encoded", k)
		}
		h.Set(k, dv)
	}
	return nil
}

// Start implements otlptrace.Client; there is nothing to connect.
func (c *otlpClient) Start(context.Context) error { return nil }

// Stop implements otlptrace.Client: uploads still waiting to retry give up.
func (c *otlpClient) Stop(context.Context) error {
	c.stopOnce.Do(func() { close(c.stopped) })
	return nil
}

// UploadTraces sends one ExportTraceServiceRequest. Throttling and a
// collector that is briefly away (429, 502, 503, 504, or no connection)
// are retried with doubling waits, or after the Retry-After the collector
// asked for, until ctx ends; other answers are final.
func (c *otlpClient) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := marshalExportRequest(spans)
	if err != nil {
		return fmt.Errorf("tracing: encode spans: %w", err)
	}
	if c.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("tracing: gzip spans: %w", err)
		}
		body = b.Bytes()
	}
	wait := c.retryBase
	for {
		retryAfter, err := c.post(ctx, body)
		if err == nil {
			return nil
		}
		if retryAfter < 0 {
			return err
		}
		if retryAfter == 0 {
			retryAfter, wait = wait, min(2*wait, 30*time.Second)
		}
		t := time.NewTimer(retryAfter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-c.stopped:
			t.Stop()
			return fmt.Errorf("%w (gave up: exporter stopped)", err)
		}
	}
}

// post sends body once. A failure worth retrying returns how long the
// collector asked to wait (0: not said); a final one returns -1.
func (c *otlpClient) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("tracing: export: %w", err)
	}
	req.Header = c.header.Clone()
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("tracing: export: %w", err)
		}
		return 0, fmt.Errorf("tracing: export: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		return 0, nil
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		var after time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			after = time.Duration(s) * time.Second
		}
		return after, fmt.Errorf("tracing: export: collector answered %s", resp.Status)
	default:
		return -1, fmt.Errorf("tracing: export: collector answered %s: %.200q", resp.Status, msg)
	}
}

// marshalExportRequest encodes an opentelemetry.proto.collector.trace.v1
// ExportTraceServiceRequest, whose only field is repeated ResourceSpans
// resource_spans = 1.
func marshalExportRequest(spans []*tracepb.ResourceSpans) ([]byte, error) {
	var b []byte
	opts := proto.MarshalOptions{UseCachedSize: true}
	for _, rs := range spans {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(proto.Size(rs)))
		var err error
		if b, err = opts.MarshalAppend(b, rs); err != nil {
			return nil, err
		}
	}
	return b, nil
}
