package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spillwayhq/spillway/internal/bench"
)

// runStreamsBench holds n slow streams open against the bare proxy and the
// gateway and prints what each stream cost each process in RSS. Each round
// starts fresh processes (a Go process keeps the memory it once used, so a
// second round in the same one would measure nothing) and runs the two
// targets one after the other, alternating which goes first.
func runStreamsBench(ctx context.Context, cfg bench.Config, so bench.SpawnOptions, o bench.StreamsOptions, rounds int, stdout, stderr io.Writer) error {
	if so.Gateway != "" && (so.GatewayPID == 0 || rounds > 1) {
		return errors.New("--streams with --gateway needs --gateway-pid and --rounds 1: a running gateway cannot be started afresh for each round")
	}
	var rs []bench.StreamsResult
	load := bench.LoadAverage()
	for round := range rounds {
		r, err := streamsRound(ctx, cfg, so, o, round, stderr)
		rs = append(rs, r...)
		if err != nil {
			return err
		}
	}
	upstream := "HTTP"
	if so.UpstreamTLS {
		upstream = "HTTPS, HTTP/2 offered by ALPN"
	}
	if err := bench.WriteStreamsText(stdout, o.Streams, cfg.MockTPS, upstream, load, rs); err != nil {
		return err
	}
	for _, r := range rs {
		if r.Failed > 0 {
			return fmt.Errorf("%d streams to %s could not be opened: the numbers are not trustworthy", r.Failed, r.Target)
		}
	}
	return nil
}

// streamsRound is one round of runStreamsBench, on processes of its own.
func streamsRound(ctx context.Context, cfg bench.Config, so bench.SpawnOptions, o bench.StreamsOptions, round int, stderr io.Writer) ([]bench.StreamsResult, error) {
	sp, err := bench.Spawn(ctx, so)
	if err != nil {
		return nil, err
	}
	defer sp.Stop()
	pids := map[string]int{bench.TargetProxy: sp.ProxyPID, bench.TargetGateway: sp.GatewayPID, bench.TargetNginx: sp.NginxPID}
	// The gateway loads its tokenizer in the background at start-up: its
	// idle RSS is read once that is done, not in the middle of it.
	bench.AwaitSteadyRSS(ctx, sp.GatewayPID)
	targets := cfg.StreamTargets(sp.Endpoints)
	if round%2 == 1 {
		slices.Reverse(targets)
	}
	var rs []bench.StreamsResult
	for _, t := range targets {
		fmt.Fprintf(stderr, "bench: streams round %d -> %s (%d streams, %d opening at once)\n", round+1, t.Name, o.Streams, o.Dialers)
		before, perr := sp.UpstreamProtocols(ctx)
		r, err := bench.HoldStreams(ctx, t, pids[t.Name], o)
		if err != nil {
			return rs, err
		}
		// What the mock served meanwhile is how this target talked to it.
		if after, err := sp.UpstreamProtocols(ctx); err == nil && perr == nil {
			d := after.Sub(before)
			r.Upstream = &d
		}
		rs = append(rs, r)
	}
	if err := sp.Check(); err != nil {
		return rs, err
	}
	return rs, nil
}
