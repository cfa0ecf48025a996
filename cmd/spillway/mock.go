package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
)

// mockShutdownGrace is how long in-flight mock requests may run after the
// context is cancelled before their connections are cut.
const mockShutdownGrace = 5 * time.Second

const mockUsage = `usage: spillway mock [flags]

Run a simulated OpenAI / Azure OpenAI / Azure AI Inference / Azure AI
Search upstream. It prints its URL on stdout once listening and runs until
interrupted.

Routes: /v1/... (OpenAI: chat, completions, embeddings, responses, audio,
images, moderations, models, realtime over WebSocket),
/openai/deployments/{name}/...?api-version=...,
/openai/...?api-version=... and /openai/v1/... (Azure OpenAI), /models/...
(AI Inference), /indexes/{index}/docs/search (AI Search). Stored responses
live on the server that made them. See go doc ./internal/mock for the answers.
GET /_mock/protocols counts the connections and requests served so far by
HTTP version (JSON).

Flags:
`

const mockFaultUsage = `
Fault specs (--fail, repeatable, checked in order per request):

  KIND[:PROBABILITY][:KEY=VALUE,...]     PROBABILITY in (0,1], default 1

  429        Azure's rate-limit body; keys retry-after=SECONDS and
             retry-after-ms=MS set those headers (any status accepts them)
  4xx        400 content filter (code=context_length_exceeded for OpenAI's
             context error), 401 bad key, 403 firewall, 404 DeploymentNotFound
  5xx        OpenAI's server_error body
  hang       never answer
  reset      reset the TCP connection before answering
  reset-mid-stream
             send after=N stream events or speech chunks (default 3), or
             half a non-streaming body, then reset the connection
  slow       stream at tps=N tokens per second (default 2); not terminal

Examples:
  spillway mock --fail 429:0.2:retry-after=5 --fail 503:0.05
  spillway mock --listen 127.0.0.1:0 --tokens-per-second 40 --fail reset-mid-stream:0.1:after=5
`

// faultFlags collects repeated --fail specs, parsed as they come so that
// a bad one is reported with its flag.
type faultFlags []mock.Fault

func (f *faultFlags) String() string {
	if f == nil {
		return ""
	}
	specs := make([]string, len(*f))
	for i, x := range *f {
		specs[i] = x.String()
	}
	return strings.Join(specs, " ")
}

func (f *faultFlags) Set(spec string) error {
	x, err := mock.ParseFault(spec)
	if err != nil {
		return err
	}
	*f = append(*f, x)
	return nil
}

func runMock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spillway mock", flag.ContinueOnError)
	// Parse errors are returned (and printed once by main) rather than
	// followed by the long usage text, which -h prints.
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:9100", "`address` to listen on; port 0 picks a free port")
	latency := fs.Duration("latency", 0, "`delay` before every response's headers, e.g. 150ms")
	tps := fs.Float64("tokens-per-second", 0, "streaming pace in `tokens` per second; 0 streams as fast as possible")
	name := fs.String("name", "mock", "`name` echoed in the x-mock-name header, response ids and system_fingerprint")
	seed := fs.Int64("seed", 0, "`seed` for fault probabilities; 0 picks a random one")
	requireKey := fs.String("require-key", "", "accept only this `key` (api-key or Bearer); default: any key or none")
	batchPolls := fs.Int("batch-polls", mock.DefaultBatchPolls, "GETs of a batch before it completes and writes its output file")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate `file` (with --tls-key), HTTP/2 offered by ALPN as Azure and OpenAI do")
	tlsKey := fs.String("tls-key", "", "PEM private key `file` of --tls-cert")
	var faults faultFlags
	fs.Var(&faults, "fail", "inject a fault `spec` (repeatable; see below)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, mockUsage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			fmt.Fprint(stderr, mockFaultUsage)
			return err
		}
		return fmt.Errorf("%w (see spillway mock -h)", err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q (flags only; see spillway mock -h)", fs.Arg(0))
	case *latency < 0:
		return fmt.Errorf("--latency must not be negative, got %v", *latency)
	case !(*tps >= 0):
		return fmt.Errorf("--tokens-per-second must be 0 or more, got %v", *tps)
	case (*tlsCert == "") != (*tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	}
	scheme := "http"
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		// Loaded here so that a bad file is reported before listening.
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert, --tls-key: %w", err)
		}
		scheme, tlsConfig = "https", &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	upstream := mock.New(mock.Options{
		Latency:         *latency,
		TokensPerSecond: *tps,
		Faults:          faults,
		Name:            *name,
		Seed:            *seed,
		RequireKey:      *requireKey,
		BatchPolls:      *batchPolls,
	})
	defer upstream.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// Counted by protocol at mock.ProtocolsPath, so that spillway bench
	// can say how the proxies in front talked to it.
	counted := mock.CountProtocols(upstream)
	srv := &http.Server{Handler: counted, ConnContext: counted.ConnContext, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConfig}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// ServeTLS offers h2 and http/1.1 by ALPN.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()

	fmt.Fprintf(stdout, "%s://%s\n", scheme, ln.Addr())
	fmt.Fprintf(stderr, "spillway mock %q: %s, latency %v, %s, faults: %s\n", *name, scheme, *latency, paceText(*tps), faultsText(faults))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Let in-flight requests finish within the grace period; then end hung
	// and paced ones and cut the remaining connections.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mockShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		upstream.Close()
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func paceText(tps float64) string {
	if tps == 0 {
		return "unpaced streams"
	}
	return fmt.Sprintf("%v tokens/s", tps)
}

func faultsText(f faultFlags) string {
	if len(f) == 0 {
		return "none"
	}
	return f.String()
}
