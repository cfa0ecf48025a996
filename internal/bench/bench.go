package bench

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spillwayhq/spillway/internal/mock"
)

// Scenario names.
const (
	ScenarioChat      = "chat"
	ScenarioStream    = "stream"
	ScenarioResponses = "responses"
)

// workload is what a scenario sends and where: the body, and the paths on
// the upstream (the mock and the bare proxy, which address the deployment)
// and on the gateway (which names the public model).
type workload struct {
	stream      bool
	body        func(model string, maxTokens int, prompt string) []byte
	upstream    func(deployment string) (path string, bodyModel bool)
	gatewayPath string
}

// workloads has one row per scenario.
var workloads = map[string]workload{
	ScenarioChat: {
		body:        func(m string, n int, p string) []byte { return RequestBody(m, n, false, p) },
		upstream:    azureChatPath,
		gatewayPath: "/v1/chat/completions",
	},
	ScenarioStream: {
		stream:      true,
		body:        func(m string, n int, p string) []byte { return RequestBody(m, n, true, p) },
		upstream:    azureChatPath,
		gatewayPath: "/v1/chat/completions",
	},
	// The Responses API, non-streaming: on Azure the v1 API, the
	// deployment named in the body.
	ScenarioResponses: {
		body:        ResponsesBody,
		upstream:    func(string) (string, bool) { return "/openai/v1/responses", true },
		gatewayPath: "/v1/responses",
	},
}

func azureChatPath(dep string) (string, bool) {
	return "/openai/deployments/" + url.PathEscape(dep) + "/chat/completions?api-version=" + DefaultAPIVersion, false
}

// scenarioNames lists the scenarios, for messages.
const scenarioNames = ScenarioChat + ", " + ScenarioStream + " or " + ScenarioResponses

// DefaultAPIVersion is the api-version used when calling the mock directly.
const DefaultAPIVersion = "2024-10-21"

// maxConcurrency bounds the number of load workers.
const maxConcurrency = 4096

// Config is what to measure and how hard.
type Config struct {
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	// Rounds is how many times each scenario runs its targets one after
	// the other, the order reversed every other round; default 1.
	Rounds      int
	Scenarios   []string // ScenarioChat, ScenarioStream
	Model       string   // public model name, sent to the gateway
	Deployment  string   // upstream deployment name; default Model
	Key         string   // client key for the gateway
	UpstreamKey string   // api-key sent to the mock and the bare proxy
	MaxTokens   int
	// PromptBytes, when positive, makes each request carry a system
	// prompt (chat) or instructions (Responses) of about this many bytes,
	// as real requests do; 0 sends only the two-letter user message.
	PromptBytes int
	// MockLatency and MockTPS describe the mock, for the report (and for
	// Spawn, which starts it with them).
	MockLatency time.Duration
	MockTPS     float64
	// ExternalUpstream says the mock was not started by bench (--upstream),
	// so MockLatency and MockTPS do not describe it.
	ExternalUpstream bool
	// Progress, if not nil, gets a line as each target starts.
	Progress io.Writer
}

// Endpoints are the base URLs (scheme://host:port) of the targets. An
// empty one is left out of the run.
type Endpoints struct {
	Mock, Proxy, Gateway string
	// Governed is a second gateway, whose client key GovernedKey is a
	// stored key with rpm and tpm limits and whose deployment has a tpm
	// limit: the path production runs. GovernedLimiter says where its
	// limits count ("redis" or "memory").
	Governed, GovernedKey, GovernedLimiter string
	// Nginx is nginx as a reverse proxy in front of the mock (--nginx),
	// the floor of an L7 proxy; "" leaves it out.
	Nginx string
	// ProxyPID, GatewayPID, GovernedPID and NginxPID are the processes'
	// ids, for their CPU time (with their children's: nginx's workers)
	// and RSS; 0 when unknown.
	ProxyPID, GatewayPID, GovernedPID, NginxPID int
	// GatewayRSS returns the gateway's peak RSS in bytes; nil when unknown.
	GatewayRSS func() (int64, error)
	// RedisCPU, when not nil, reads the CPU time of the Redis server the
	// governed gateway counts in, for its rows.
	RedisCPU func(context.Context) (time.Duration, error)
	// MockCAs are the authorities of the mock's certificate when it
	// serves HTTPS (--upstream-tls), for bench's own client of it.
	MockCAs *x509.CertPool
	// Protocols, when not nil, asks the mock what it has served by HTTP
	// version: with MockCAs, Run records what each target sent it.
	Protocols func(context.Context) (mock.ProtocolCounts, error)
}

// ParseScenarios splits a comma-separated list of scenario names.
func ParseScenarios(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if _, ok := workloads[f]; !ok {
			return nil, fmt.Errorf("unknown scenario %q (want %s)", f, scenarioNames)
		}
		for _, o := range out {
			if o == f {
				return nil, fmt.Errorf("scenario %q given twice", f)
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario given")
	}
	return out, nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Concurrency < 1 || c.Concurrency > maxConcurrency:
		return fmt.Errorf("concurrency must be between 1 and %d", maxConcurrency)
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.Warmup < 0:
		return errors.New("warm-up must not be negative")
	case c.Model == "":
		return errors.New("model must not be empty")
	case c.MaxTokens < 1:
		return errors.New("max tokens must be at least 1")
	case c.PromptBytes < 0 || c.PromptBytes > maxPromptBytes:
		return fmt.Errorf("prompt bytes must be between 0 and %d", maxPromptBytes)
	}
	if len(c.Scenarios) == 0 {
		return errors.New("no scenario given")
	}
	for _, s := range c.Scenarios {
		if _, ok := workloads[s]; !ok {
			return fmt.Errorf("unknown scenario %q", s)
		}
	}
	return nil
}

// RequestBody is the chat completion every request sends: a system
// message of prompt when it is not empty, and the user's "hi".
func RequestBody(model string, maxTokens int, stream bool, prompt string) []byte {
	messages := []map[string]string{{"role": "user", "content": "hi"}}
	if prompt != "" {
		messages = append([]map[string]string{{"role": "system", "content": prompt}}, messages...)
	}
	body := map[string]any{
		"model":      model,
		"messages":   messages,
		"max_tokens": maxTokens,
	}
	if stream {
		body["stream"] = true
	}
	b, _ := json.Marshal(body)
	return b
}

// ResponsesBody is the Responses API request of the responses scenario,
// with prompt as its instructions when it is not empty.
func ResponsesBody(model string, maxTokens int, prompt string) []byte {
	body := map[string]any{"model": model, "input": "hi", "max_output_tokens": maxTokens, "store": false}
	if prompt != "" {
		body["instructions"] = prompt
	}
	b, _ := json.Marshal(body)
	return b
}

// maxPromptBytes bounds --prompt-bytes: past a few hundred KiB a bench
// measures the copying of bodies, not the proxies.
const maxPromptBytes = 1 << 20

// Prompt returns a system prompt of n bytes (0 for none): sentences with
// the newlines and quotes real prompts have, which JSON escapes, and
// non-ASCII letters, which it does not.
func Prompt(n int) string {
	const text = "You are a helpful assistant for Contoso's support desk. Answer in the customer's language (français, español, 日本語).\n" +
		"Quote the \"policy\" section when you cite it; never invent order numbers.\n"
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(n + len(text))
	for b.Len() < n {
		b.WriteString(text)
	}
	s := b.String()[:n]
	// Cut at a whole character, not inside one.
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// targets returns the targets of scenario sc for ep, in report order.
func (c *Config) targets(ep Endpoints, sc string) []Target {
	wl := workloads[sc]
	dep := c.Deployment
	if dep == "" {
		dep = c.Model
	}
	upPath, bodyModel := wl.upstream(dep)
	prompt := Prompt(c.PromptBytes)
	upBody := wl.body(c.Model, c.MaxTokens, prompt)
	if bodyModel {
		upBody = wl.body(dep, c.MaxTokens, prompt)
	}
	upstreamHeader := http.Header{"Content-Type": {"application/json"}, "Api-Key": {c.UpstreamKey}}
	var ts []Target
	if ep.Mock != "" {
		ts = append(ts, Target{Name: TargetMock, URL: ep.Mock + upPath, Header: upstreamHeader, Body: upBody})
	}
	if ep.Nginx != "" {
		ts = append(ts, Target{Name: TargetNginx, URL: ep.Nginx + upPath, Header: upstreamHeader, Body: upBody, PID: ep.NginxPID})
	}
	if ep.Proxy != "" {
		ts = append(ts, Target{Name: TargetProxy, URL: ep.Proxy + upPath, Header: upstreamHeader, Body: upBody, PID: ep.ProxyPID})
	}
	if ep.Gateway != "" {
		ts = append(ts, Target{Name: TargetGateway, URL: ep.Gateway + wl.gatewayPath,
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + c.Key}},
			Body:   wl.body(c.Model, c.MaxTokens, prompt), PID: ep.GatewayPID})
	}
	if ep.Governed != "" {
		ts = append(ts, Target{Name: TargetGoverned, URL: ep.Governed + wl.gatewayPath,
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + ep.GovernedKey}},
			Body:   wl.body(c.Model, c.MaxTokens, prompt), PID: ep.GovernedPID})
	}
	return ts
}

// Run measures every scenario against every endpoint in ep, one target at a
// time, and returns the report. It returns early with ctx's error.
func Run(ctx context.Context, cfg Config, ep Endpoints) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.targets(ep, cfg.Scenarios[0])) == 0 {
		return nil, errors.New("no target to measure")
	}
	rep := &Report{
		Concurrency:      cfg.Concurrency,
		Duration:         cfg.Duration,
		Warmup:           cfg.Warmup,
		MockLatency:      cfg.MockLatency,
		MockTPS:          cfg.MockTPS,
		PromptBytes:      cfg.PromptBytes,
		ExternalUpstream: cfg.ExternalUpstream,
		UpstreamTLS:      ep.MockCAs != nil,
		CPUs:             runtime.NumCPU(),
		LoadAvg:          LoadAverage(),
	}
	for _, sc := range cfg.Scenarios {
		stream := workloads[sc].stream
		opts := LoadOptions{
			Concurrency: cfg.Concurrency,
			Duration:    cfg.Duration,
			Warmup:      cfg.Warmup,
			Stream:      stream,
			RootCAs:     ep.MockCAs,
		}
		sr := ScenarioReport{Name: sc, Stream: stream, GatewayPeakRSS: -1}
		for round := range max(1, cfg.Rounds) {
			ts := cfg.targets(ep, sc)
			if round%2 == 1 {
				slices.Reverse(ts)
			}
			for _, t := range ts {
				if cfg.Progress != nil {
					fmt.Fprintf(cfg.Progress, "bench: %s round %d -> %s (%s warm-up + %s, %d concurrent)\n", sc, round+1, t.Name, FormatDuration(cfg.Warmup), FormatDuration(cfg.Duration), cfg.Concurrency)
				}
				opts.Measure = ep.measure(ctx, t.Name)
				res, err := Load(ctx, t, opts)
				if err != nil {
					return nil, err
				}
				res.Round = round
				sr.Results = append(sr.Results, res)
				if t.Name == TargetGateway && ep.GatewayRSS != nil {
					if n, err := ep.GatewayRSS(); err == nil {
						sr.GatewayPeakRSS = n
					}
				}
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	return rep, nil
}

// measure returns what Load reads around target's measured run beside
// its CPU time, or nil: Redis's CPU time for the governed rows, and what
// the mock served, when it is on HTTPS, for every row.
func (ep Endpoints) measure(ctx context.Context, target string) func() func(*Result) {
	redis := target == TargetGoverned && ep.RedisCPU != nil
	protocols := ep.MockCAs != nil && ep.Protocols != nil
	if !redis && !protocols {
		return nil
	}
	return func() func(*Result) {
		var cpu0 time.Duration
		var before mock.ProtocolCounts
		cpuErr, protoErr := errors.New("not read"), errors.New("not read")
		if redis {
			cpu0, cpuErr = ep.RedisCPU(ctx)
		}
		if protocols {
			before, protoErr = ep.Protocols(ctx)
		}
		return func(res *Result) {
			if cpuErr == nil {
				if cpu1, err := ep.RedisCPU(ctx); err == nil {
					res.RedisCPU = cpu1 - cpu0
				}
			}
			if protoErr == nil {
				// What the mock served meanwhile is how this target
				// talked to it.
				if after, err := ep.Protocols(ctx); err == nil {
					d := after.Sub(before)
					res.Upstream = &d
				}
			}
		}
	}
}

// SpawnOptions say which processes Spawn starts and how.
type SpawnOptions struct {
	// Exe is the spillway binary to re-execute; "" means this one.
	Exe string
	// Upstream and Gateway are base URLs of processes already running;
	// the ones left empty are started. The bare proxy is always started,
	// in front of the upstream.
	Upstream, Gateway string
	// GatewayPID, with Gateway, lets bench read that process's peak RSS.
	GatewayPID  int
	Concurrency int
	MockLatency time.Duration
	MockTPS     float64
	Model       string
	Deployment  string // default Model
	Key         string // client key written into the spawned gateway's config
	UpstreamKey string
	// Governed also starts the governed gateway (Endpoints.Governed), its
	// limits in Redis at the URL Redis, or in memory when Redis is "".
	Governed bool
	Redis    string
	// UpstreamTLS has the spawned mock serve HTTPS, HTTP/2 offered by ALPN
	// as Azure OpenAI and OpenAI do, with a certificate of a throwaway
	// authority that the bare proxy and the gateway are told to trust
	// (SSL_CERT_FILE). Not with Upstream.
	UpstreamTLS bool
	// Nginx, when not "", is the nginx binary to start as one more
	// target in front of the mock (Endpoints.Nginx). Not with UpstreamTLS.
	Nginx string
	// Log gets what bench starts, and a stopped child's stderr if it
	// exited on its own.
	Log io.Writer
}

// Spawned is the set of processes Spawn started.
type Spawned struct {
	Endpoints
	// UpstreamTLS is the mock's certificate and its authority, nil when
	// the mock serves plain HTTP.
	UpstreamTLS *UpstreamTLS
	children    []*child
	dir         string
	log         io.Writer
	// env is added to the children's environment.
	env []string
	// ownMock says the mock is bench's own, which counts its connections
	// by protocol (UpstreamProtocols).
	ownMock bool
}

// Spawn starts the mock (unless o.Upstream), the bare proxy and the gateway
// (unless o.Gateway) as child processes on 127.0.0.1 and returns their
// endpoints. Call Stop on the result, even after an error of Run; on error
// Spawn has stopped what it started.
func Spawn(ctx context.Context, o SpawnOptions) (_ *Spawned, err error) {
	exe := o.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the spillway binary to start the targets: %w", err)
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	dir, err := os.MkdirTemp("", "spillway-bench-")
	if err != nil {
		return nil, err
	}
	s := &Spawned{dir: dir, log: log}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	upstream := o.Upstream
	if o.UpstreamTLS && upstream != "" {
		return nil, errors.New("--upstream-tls needs the mock bench starts, not --upstream")
	}
	if upstream == "" {
		args := []string{"mock", "--listen", "127.0.0.1:0",
			"--latency", o.MockLatency.String(),
			"--tokens-per-second", strconv.FormatFloat(o.MockTPS, 'g', -1, 64)}
		if o.UpstreamTLS {
			if s.UpstreamTLS, err = NewUpstreamTLS(dir); err != nil {
				return nil, err
			}
			args = append(args, "--tls-cert", s.UpstreamTLS.CertFile, "--tls-key", s.UpstreamTLS.KeyFile)
			s.env = s.UpstreamTLS.Env()
			s.MockCAs = s.UpstreamTLS.Pool
		}
		c, err := s.start(ctx, "mock", exe, args, "")
		if err != nil {
			return nil, err
		}
		upstream, s.ownMock = c.url, true
		s.Protocols = s.UpstreamProtocols
	} else if _, err := ParseUpstream(upstream); err != nil {
		return nil, fmt.Errorf("--upstream: %w", err)
	}
	s.Mock = upstream
	if o.Nginx != "" {
		if err := s.startNginx(ctx, o.Nginx, upstream); err != nil {
			return nil, err
		}
	}

	c, err := s.start(ctx, "bare proxy", exe, []string{"bench", "--proxy-only", "--upstream", upstream,
		"--listen", "127.0.0.1:0", "--concurrency", strconv.Itoa(o.Concurrency)}, "bare proxy on")
	if err != nil {
		return nil, err
	}
	s.Proxy, s.ProxyPID = c.url, c.pid()

	if o.Gateway != "" {
		if _, err := ParseUpstream(o.Gateway); err != nil {
			return nil, fmt.Errorf("--gateway: %w", err)
		}
		s.Gateway = strings.TrimSuffix(o.Gateway, "/")
		s.GatewayPID = o.GatewayPID
		if o.GatewayPID > 0 {
			pid := o.GatewayPID
			s.GatewayRSS = func() (int64, error) { return PeakRSS(pid) }
		}
		return s, nil
	}
	cfgPath := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfgPath, GatewayConfig(upstream, o.Model, o.Deployment, o.Key, o.UpstreamKey), 0o600); err != nil {
		return nil, err
	}
	g, err := s.start(ctx, "gateway", exe, []string{"serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--log-level", "warn"}, "serving on")
	if err != nil {
		return nil, err
	}
	s.Gateway, s.GatewayPID = g.url, g.pid()
	s.GatewayRSS = func() (int64, error) { return PeakRSS(g.pid()) }
	if o.Governed {
		if err := s.startGoverned(ctx, exe, upstream, o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Spawned) start(ctx context.Context, name, exe string, args []string, marker string) (*child, error) {
	c, err := startChild(ctx, name, exe, args, s.dir, marker, s.env)
	if err != nil {
		return nil, err
	}
	s.children = append(s.children, c)
	fmt.Fprintf(s.log, "bench: started %s (pid %d) at %s\n", name, c.pid(), c.url)
	return c, nil
}

// Check returns an error naming every child that has exited on its own.
func (s *Spawned) Check() error {
	var errs []error
	for _, c := range s.children {
		if c.exited() {
			errs = append(errs, fmt.Errorf("%s exited during the run: %v%s", c.name, c.exitErr(), c.stderrNote()))
		}
	}
	return errors.Join(errs...)
}

// Stderr returns what each child wrote on its standard error (the last
// few KiB of it), to show when a run went wrong.
func (s *Spawned) Stderr() string {
	var b strings.Builder
	for _, c := range s.children {
		if out := strings.TrimSpace(c.errTail.String()); out != "" {
			fmt.Fprintf(&b, "--- %s (pid %d) stderr:\n%s\n", c.name, c.pid(), out)
		}
	}
	return b.String()
}

// Stop stops every child, gateway first, and removes the temporary
// directory. It is safe to call more than once.
func (s *Spawned) Stop() {
	for i := len(s.children) - 1; i >= 0; i-- {
		s.children[i].stop()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// GatewayConfig is the config file for the spawned gateway: one client key
// and one Azure deployment of model on upstream.
func GatewayConfig(upstream, model, deployment, key, upstreamKey string) []byte {
	if deployment == "" {
		deployment = model
	}
	q := strconv.Quote
	return fmt.Appendf(nil, `# written by spillway bench
listen: 127.0.0.1:0
keys:
  - key: %s
    name: bench
routing:
  retries: 2
deployments:
  - id: bench-1
    model: %s
    class: openai-chat
    provider: azure
    endpoint: %s
    deployment: %s
    api_version: %s
    api_key: %s
`, q(key), q(model), q(upstream), q(deployment), q(DefaultAPIVersion), q(upstreamKey))
}
