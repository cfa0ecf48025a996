package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
)

// StreamsOptions shape a streams run: how many slow streams to hold open
// against each target at once.
type StreamsOptions struct {
	// Streams is how many streams are held open together.
	Streams int
	// Dialers bounds how many streams are being opened at a time; default
	// 256.
	Dialers int
	// Settle is how long to wait once every stream is open before RSS is
	// read; default 2s.
	Settle time.Duration
}

// StreamsResult is what holding the streams open against one target cost
// that target's process.
type StreamsResult struct {
	Target string
	// Open is how many streams were open (their first event read) when the
	// RSS was read; Failed how many could not be opened.
	Open, Failed int
	// IdleRSS is the process's VmRSS before the streams, HeldRSS with them
	// open, both in bytes.
	IdleRSS, HeldRSS int64
	// Threads is the process's thread count with the streams open.
	Threads int
	// ErrorSamples are a few distinct errors of streams that failed.
	ErrorSamples []string
	// Upstream is what the mock served while the streams were opened
	// against this target, by HTTP version: how the target talked to it.
	// Nil when unknown (a mock bench did not start).
	Upstream *mock.ProtocolCounts
}

// PerStream is the RSS growth per open stream, in bytes.
func (r StreamsResult) PerStream() int64 {
	if r.Open == 0 {
		return 0
	}
	return (r.HeldRSS - r.IdleRSS) / int64(r.Open)
}

// HoldStreams opens o.Streams streaming requests to t, waits until each
// has delivered its first byte, reads the VmRSS of process pid (with its
// children's: nginx's workers) with all of
// them open, then closes them all (the client goes away, as a real one
// does) and waits until their goroutines are done. Every stream keeps
// reading what it gets, like a client that shows the answer as it comes.
// The upstream must be slow enough that the streams outlast the run.
func HoldStreams(ctx context.Context, t Target, pid int, o StreamsOptions) (StreamsResult, error) {
	if o.Streams < 1 {
		return StreamsResult{}, errors.New("streams must be at least 1")
	}
	if o.Dialers <= 0 {
		o.Dialers = 256
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	res := StreamsResult{Target: t.Name}
	idle, _, err := TreeRSS(pid)
	if err != nil {
		return res, err
	}
	res.IdleRSS = idle

	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: -1,
		DisableCompression:  true,
		DisableKeepAlives:   true,
	}}
	hold, release := context.WithCancel(ctx)
	defer release()
	var (
		wg      sync.WaitGroup
		open    atomic.Int64
		failed  atomic.Int64
		started = make(chan struct{}, o.Dialers)
		mu      sync.Mutex
		samples []string
	)
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if len(samples) < 5 && !slices.Contains(samples, err.Error()) {
			samples = append(samples, err.Error())
		}
		mu.Unlock()
	}
	for range o.Streams {
		select {
		case started <- struct{}{}:
		case <-ctx.Done():
			release()
			wg.Wait()
			return res, ctx.Err()
		}
		wg.Go(func() {
			first := false
			defer func() {
				if !first {
					<-started
				}
			}()
			req, err := http.NewRequestWithContext(hold, http.MethodPost, t.URL, bytes.NewReader(t.Body))
			if err != nil {
				fail(err)
				return
			}
			req.Header = t.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				fail(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
				fail(fmt.Errorf("status %d: %s", resp.StatusCode, b))
				return
			}
			var buf [512]byte
			if _, err := resp.Body.Read(buf[:]); err != nil && !errors.Is(err, io.EOF) {
				fail(err)
				return
			}
			first = true
			open.Add(1)
			<-started
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					if hold.Err() == nil {
						// Ended before the sample: not held.
						open.Add(-1)
					}
					return
				}
			}
		})
	}
	// Wait for the last dials to finish.
	for range o.Dialers {
		select {
		case started <- struct{}{}:
		case <-ctx.Done():
			release()
			wg.Wait()
			return res, ctx.Err()
		}
	}
	select {
	case <-time.After(o.Settle):
	case <-ctx.Done():
	}
	res.Open = int(open.Load())
	res.HeldRSS, res.Threads, err = TreeRSS(pid)
	res.Failed = int(failed.Load())
	res.ErrorSamples = samples
	release()
	wg.Wait()
	client.CloseIdleConnections()
	if err != nil {
		return res, err
	}
	return res, ctx.Err()
}

// ProcRSS returns the current resident set size (VmRSS, in bytes) and the
// thread count of process pid.
func ProcRSS(pid int) (rss int64, threads int, err error) {
	status, err := procStatus(pid)
	if err != nil {
		return 0, 0, err
	}
	return ParseVmRSS(status)
}

// TreeRSS is ProcRSS of pid and its children together: nginx's master and
// workers. A Go target has no children.
func TreeRSS(pid int) (rss int64, threads int, err error) {
	if rss, threads, err = ProcRSS(pid); err != nil {
		return 0, 0, err
	}
	for _, c := range Children(pid) {
		if r, t, err := ProcRSS(c); err == nil {
			rss, threads = rss+r, threads+t
		}
	}
	return rss, threads, nil
}

// ParseVmRSS returns the VmRSS (in bytes) and Threads of a
// /proc/PID/status text.
func ParseVmRSS(status string) (rss int64, threads int, err error) {
	if rss, err = statusKB(status, "VmRSS"); err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(rest))
		}
	}
	return rss, threads, nil
}

// StreamTargets are the requests a streams run holds open against the bare
// proxy and the gateway: a chat stream asking for maxTokens, which a slow
// mock takes maxTokens/pace seconds to finish.
func (c *Config) StreamTargets(ep Endpoints) []Target {
	var out []Target
	for _, t := range c.targets(ep, ScenarioStream) {
		if t.Name != TargetMock {
			out = append(out, t)
		}
	}
	return out
}

// WriteStreamsText prints a streams run: one row per target and round.
// upstream says how the mock was served ("HTTP", "HTTPS").
func WriteStreamsText(w io.Writer, n int, tps float64, upstream, load string, rs []StreamsResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "streams: %d slow streams held open at once against each target (mock over %s at %g tokens/s), load average at start %s\n\n", n, upstream, tps, load)
	fmt.Fprintf(&b, "%-11s %7s %7s %10s %10s %11s %8s  %s\n", "target", "open", "failed", "idle RSS", "held RSS", "per stream", "threads", "to the upstream")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-11s %7d %7d %10s %10s %8.1f KiB %8d  %s\n", r.Target, r.Open, r.Failed, FormatBytes(r.IdleRSS), FormatBytes(r.HeldRSS), float64(r.PerStream())/1024, r.Threads, protocolsText(r.Upstream))
		for _, e := range r.ErrorSamples {
			fmt.Fprintf(&b, "            error: %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// protocolsText is what a target sent the mock: requests and connections
// by HTTP version, e.g. "HTTP/2.0 4000 req on 16 conn, 120 more accepted
// unused".
func protocolsText(c *mock.ProtocolCounts) string {
	if c == nil {
		return "unknown"
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(c.Requests)) {
		parts = append(parts, fmt.Sprintf("%s %d req on %d conn", v, c.Requests[v], c.Connections[v]))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	var used int64
	for _, n := range c.Connections {
		used += n
	}
	if c.Accepted > used {
		// Connections dialled and dropped unused: HTTP/2 clients dial one
		// per request of a burst before they know the server speaks it.
		parts = append(parts, fmt.Sprintf("%d more accepted unused", c.Accepted-used))
	}
	return strings.Join(parts, ", ")
}

// UpstreamProtocols asks the mock Spawn started how many connections and
// requests it has served so far, by HTTP version (mock.ProtocolsPath).
func (s *Spawned) UpstreamProtocols(ctx context.Context) (mock.ProtocolCounts, error) {
	var c mock.ProtocolCounts
	if !s.ownMock {
		return c, errors.New("the upstream is not a mock bench started")
	}
	t := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if s.UpstreamTLS != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: s.UpstreamTLS.Pool}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Mock+mock.ProtocolsPath, nil)
	if err != nil {
		return c, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("GET %s: status %d", mock.ProtocolsPath, resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&c)
	return c, err
}

// AwaitSteadyRSS waits until process pid's VmRSS has stayed within 1 MiB
// for a second (what start-up loads in the background is in), for at most
// 15 seconds.
func AwaitSteadyRSS(ctx context.Context, pid int) {
	last, _, err := ProcRSS(pid)
	if err != nil {
		return
	}
	for range 15 {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
		now, _, err := ProcRSS(pid)
		if err != nil {
			return
		}
		if d := now - last; d < 1<<20 && d > -(1<<20) {
			return
		}
		last = now
	}
}
