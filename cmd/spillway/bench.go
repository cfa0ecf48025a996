package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/spillwayhq/spillway/internal/bench"
)

// runBench measures the mock directly, a bare Go reverse proxy and the
// gateway, each in front of the same mock, and prints one table per
// scenario. See package internal/bench for what the numbers mean.
//
// `spillway bench --proxy-only --upstream URL --listen ADDR` is internal:
// it runs the bare proxy alone, and is how bench starts it as a process.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "usage" {
		return runBenchUsage(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	concurrency := fs.Int("concurrency", 64, "concurrent keep-alive clients per target")
	duration := fs.Duration("duration", 10*time.Second, "measured run per target and scenario")
	warmup := fs.Duration("warmup", time.Second, "warm-up per target and scenario, not counted")
	scenarios := fs.String("scenarios", "chat,stream,responses", "comma-separated scenarios: chat (non-streaming), stream (SSE, with time to first byte), responses (the Responses API, non-streaming)")
	model := fs.String("model", "gpt-4o", "model asked of the gateway (and the mock's deployment name)")
	key := fs.String("key", "sk-bench", "client key for the gateway (written into the spawned gateway's config)")
	maxTokens := fs.Int("max-tokens", 16, "max_tokens of every request")
	promptBytes := fs.Int("prompt-bytes", 0, "give every request a system prompt (chat) or instructions (Responses) of about this many bytes, as real requests carry; 0 sends only a two-letter user message")
	mockLatency := fs.Duration("mock-latency", 0, "latency of the spawned mock")
	mockTPS := fs.Float64("mock-tps", 0, "tokens per second of the spawned mock's streams (0 = as fast as possible)")
	gatewayURL := fs.String("gateway", "", "bench this running gateway instead of starting one (it must serve --model with --key)")
	gatewayPID := fs.Int("gateway-pid", 0, "with --gateway: its process id, to report its peak RSS")
	upstreamURL := fs.String("upstream", "", "bench this running mock/upstream instead of starting one (Azure shape, any api-key)")
	jsonOut := fs.Bool("json", false, "write the report as JSON on stdout (the table then goes to stderr)")
	streams := fs.Int("streams", 0, "instead of the load scenarios, hold this many slow streams open at once against the bare proxy and the gateway and report each one's RSS per stream (the mock streams at --mock-tps, default 1 then)")
	upstreamTLS := fs.Bool("upstream-tls", false, "the mock serves HTTPS and offers HTTP/2 by ALPN, as Azure OpenAI and OpenAI do, with a throwaway certificate the bare proxy and the gateway trust (SSL_CERT_FILE); both then multiplex their requests over a few upstream connections, and the report says what each target sent the mock by HTTP version")
	streamDialers := fs.Int("stream-dialers", 256, "with --streams: how many streams are being opened at once; over --upstream-tls fewer means fewer TLS connections both proxies dial and drop (net/http dials one per request waiting for a connection), so less of their garbage in the RSS read")
	rounds := fs.Int("rounds", 2, "rounds of every scenario (and of --streams), the targets' order reversed every other round; from 3 rounds on, the by-round ratios' medians are printed too")
	governed := fs.Bool("governed", true, "also bench a second gateway on the governed path: a stored key with rpm+tpm and a deployment with tpm, counted in --redis")
	redisURL := fs.String("redis", "", "Redis URL for the governed gateway's limits (e.g. redis://127.0.0.1:6379/0); without it they count in memory")
	nginx := fs.String("nginx", "", "also bench nginx (this binary, or its name in PATH or /usr/sbin, e.g. nginx) as a reverse proxy in front of the mock, the floor of an L7 proxy; its CPU per request and RSS are its master's and workers' together")
	proxyOnly := fs.Bool("proxy-only", false, "internal: only run the bare proxy to --upstream on --listen")
	listen := fs.String("listen", "127.0.0.1:0", "internal, with --proxy-only: listen address")
	cpuProfile := fs.String("cpuprofile", "", "with --proxy-only: write the bare proxy's CPU profile to this file until it stops, to set beside the gateway's (serve --cpuprofile)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: spillway bench [flags]

Runs the same load against the mock upstream directly, a bare Go reverse proxy
in front of it, and the gateway in front of it (each started as its own
process on 127.0.0.1, unless --upstream/--gateway name running ones), and
prints req/s, p50/p99 latency and what the gateway adds over the bare proxy.
--nginx nginx adds nginx as a reverse proxy in front of the same mock, the
floor of an L7 proxy.

--streams N instead holds N slow streams open against the bare proxy and the
gateway (and nginx, with --nginx) and reports each process's RSS per stream. The mock serves plain
HTTP by default, so each stream has an HTTP/1.1 upstream connection of its
own: two descriptors per stream in the process under test, the most a
stream can cost. With --upstream-tls the mock serves HTTPS with HTTP/2, as
Azure OpenAI and OpenAI do, and both processes multiplex their streams over
a few upstream connections (the mock allows 250 streams on one). The last
column says what each process actually sent the mock, by HTTP version.
Details: go doc github.com/spillwayhq/spillway/internal/bench

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	if *cpuProfile != "" && !*proxyOnly {
		return errors.New("--cpuprofile profiles the bare proxy of --proxy-only; profile the gateway with spillway serve --cpuprofile")
	}
	if *proxyOnly {
		if *upstreamURL == "" {
			return errors.New("--proxy-only needs --upstream")
		}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
		err := bench.ServeProxy(ctx, *upstreamURL, *listen, *concurrency, func(addr string) {
			fmt.Fprintf(stdout, "spillway bench: bare proxy on http://%s -> %s\n", addr, *upstreamURL)
		})
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}

	sc, err := bench.ParseScenarios(*scenarios)
	if err != nil {
		return fmt.Errorf("--scenarios: %w", err)
	}
	if *gatewayURL != "" && *upstreamURL == "" {
		fmt.Fprintln(stderr, "bench: warning: --gateway without --upstream: the mock and bare proxy rows are a fresh mock, not the gateway's own upstream")
	}
	if *upstreamTLS && *upstreamURL != "" {
		return errors.New("--upstream-tls works with the mock bench starts (not --upstream)")
	}
	if *nginx != "" && *upstreamTLS {
		return errors.New("--nginx works with a plain HTTP mock (not --upstream-tls)")
	}
	if *nginx != "" {
		if *nginx, err = bench.LookNginx(*nginx); err != nil {
			return fmt.Errorf("--nginx: %w", err)
		}
	}
	if *streams > 0 && *streamDialers < 1 {
		return errors.New("--stream-dialers must be at least 1")
	}
	if *streams > 0 {
		if *mockTPS == 0 {
			*mockTPS = 1
		}
		if *maxTokens == 16 {
			*maxTokens = 4096 // over an hour at 1 token/s: outlasts the run
		}
	}
	cfg := bench.Config{
		Concurrency:      *concurrency,
		Duration:         *duration,
		Warmup:           *warmup,
		Rounds:           *rounds,
		Scenarios:        sc,
		Model:            *model,
		Key:              *key,
		UpstreamKey:      "bench-upstream-key",
		MaxTokens:        *maxTokens,
		PromptBytes:      *promptBytes,
		MockLatency:      *mockLatency,
		MockTPS:          *mockTPS,
		ExternalUpstream: *upstreamURL != "",
		Progress:         stderr,
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	so := bench.SpawnOptions{
		Upstream:    *upstreamURL,
		Gateway:     *gatewayURL,
		GatewayPID:  *gatewayPID,
		Concurrency: *concurrency,
		MockLatency: *mockLatency,
		MockTPS:     *mockTPS,
		Model:       *model,
		Key:         *key,
		UpstreamKey: cfg.UpstreamKey,
		Governed:    *governed && *gatewayURL == "" && *streams == 0,
		Redis:       *redisURL,
		UpstreamTLS: *upstreamTLS,
		Nginx:       *nginx,
		Log:         stderr,
	}
	if *streams > 0 {
		return runStreamsBench(ctx, cfg, so, bench.StreamsOptions{Streams: *streams, Dialers: *streamDialers}, max(1, *rounds), stdout, stderr)
	}
	sp, err := bench.Spawn(ctx, so)
	if err != nil {
		return err
	}
	defer sp.Stop()

	rep, err := bench.Run(ctx, cfg, sp.Endpoints)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted: no report")
		}
		return err
	}
	if sp.Governed != "" {
		fmt.Fprintf(text(stdout, stderr, *jsonOut), "governed: stored key with rpm+tpm, deployment with tpm, limits counted in %s\n", sp.GovernedLimiter)
	}
	died := sp.Check() // before Stop, which ends them all
	sp.Stop()

	if err := rep.WriteText(text(stdout, stderr, *jsonOut)); err != nil {
		return err
	}
	if *jsonOut {
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	}
	if died != nil || rep.Failed() {
		if out := sp.Stderr(); out != "" {
			fmt.Fprintf(stderr, "\nwhat the started processes wrote on stderr:\n%s", out)
		}
	}
	if died != nil {
		return died
	}
	if rep.Failed() {
		return errors.New("some requests failed (see ERRORS above): the numbers are not trustworthy")
	}
	return nil
}

// text is where the report's table goes: stdout, or stderr when stdout
// gets the JSON.
func text(stdout, stderr io.Writer, jsonOut bool) io.Writer {
	if jsonOut {
		return stderr
	}
	return stdout
}
