package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
)

// Target names, as they appear in the report.
const (
	TargetMock    = "mock"
	TargetProxy   = "bare-proxy"
	TargetGateway = "gateway"
	// TargetGoverned is the gateway on the governed path: a stored key
	// with rpm and tpm, a deployment with tpm.
	TargetGoverned = "governed"
	// TargetNginx is nginx as a reverse proxy (--nginx).
	TargetNginx = "nginx"
)

// Report is the outcome of a whole run.
type Report struct {
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	MockLatency time.Duration
	MockTPS     float64
	// PromptBytes is the size of the prompt every request carried
	// (--prompt-bytes); 0 for the two-letter message alone.
	PromptBytes int
	// ExternalUpstream is set when the upstream was not started by bench:
	// its latency and pace are then unknown.
	ExternalUpstream bool
	// UpstreamTLS is set when the mock served HTTPS, HTTP/2 offered
	// (--upstream-tls).
	UpstreamTLS bool
	// CPUs and LoadAvg describe the machine at the start ("" when the
	// load average is unknown): on a busy machine the numbers are noisy.
	CPUs      int
	LoadAvg   string
	Scenarios []ScenarioReport
}

// ScenarioReport is one scenario's table.
type ScenarioReport struct {
	Name    string
	Stream  bool
	Results []Result
	// GatewayPeakRSS is the gateway process's VmHWM in bytes after the
	// scenario, or -1 when it is not known.
	GatewayPeakRSS int64
}

// Result returns the row for target, if there is one.
func (s ScenarioReport) Result(target string) (Result, bool) {
	for _, r := range s.Results {
		if r.Target == target {
			return r, true
		}
	}
	return Result{}, false
}

// Failed reports whether any row of any scenario saw errors.
func (r *Report) Failed() bool {
	for _, s := range r.Scenarios {
		for _, res := range s.Results {
			if res.Failed() {
				return true
			}
		}
	}
	return false
}

// Comparison is how a target compares with a baseline at equal load.
type Comparison struct {
	Throughput         float64 // target req/s / baseline req/s; 0 if unknown
	AddedP50, AddedP99 time.Duration
	AddedTTFBP50       time.Duration
	AddedTTFBP99       time.Duration
}

// Compare returns target against base.
func Compare(target, base Result) Comparison {
	c := Comparison{
		AddedP50:     target.P50 - base.P50,
		AddedP99:     target.P99 - base.P99,
		AddedTTFBP50: target.TTFBP50 - base.TTFBP50,
		AddedTTFBP99: target.TTFBP99 - base.TTFBP99,
	}
	if base.RPS > 0 {
		c.Throughput = target.RPS / base.RPS
	}
	return c
}

// FormatMS formats d in milliseconds with two decimals: "1.23ms".
func FormatMS(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// FormatAdded formats a latency difference with its sign: "+0.12ms".
func FormatAdded(d time.Duration) string {
	if d < 0 {
		return "-" + FormatMS(-d)
	}
	return "+" + FormatMS(d)
}

// FormatBytes formats a size in MiB with one decimal, or "n/a" if negative.
func FormatBytes(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// FormatDuration formats a run length compactly: "10s", "300ms", "1.5s".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// errorCell is the errors column: errors plus non-2xx.
func errorCell(r Result) string {
	if r.Non2xx == 0 {
		return fmt.Sprint(r.Errors)
	}
	return fmt.Sprintf("%d (%d non-2xx)", r.Errors+r.Non2xx, r.Non2xx)
}

const rowFormat = "%-13s %-9s %-9s %-9s %-9s %-9s %-9s %s\n"

// WriteText writes the plain-text tables, one per scenario, then a loud
// warning for every target that saw errors.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.CPUs > 0 {
		fmt.Fprintf(&b, "machine: %d CPUs", r.CPUs)
		if r.LoadAvg != "" {
			fmt.Fprintf(&b, ", load average %s at start", r.LoadAvg)
		}
		b.WriteString("\n\n")
	}
	for i, s := range r.Scenarios {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "scenario: %s (%d concurrent, %s each, ", s.Name, r.Concurrency, FormatDuration(r.Duration))
		if r.PromptBytes > 0 {
			fmt.Fprintf(&b, "%d-byte prompt, ", r.PromptBytes)
		}
		if r.ExternalUpstream {
			b.WriteString("external upstream")
		} else {
			fmt.Fprintf(&b, "mock latency %s", FormatDuration(r.MockLatency))
		}
		if r.UpstreamTLS {
			b.WriteString(", mock over HTTPS with HTTP/2 offered")
		}
		if s.Stream && !r.ExternalUpstream {
			if r.MockTPS > 0 {
				fmt.Fprintf(&b, ", %g tokens/s", r.MockTPS)
			} else {
				b.WriteString(", unpaced stream")
			}
		}
		b.WriteString(")\n")
		fmt.Fprintf(&b, rowFormat, "target", "req/s", "p50", "p99", "ttfb p50", "ttfb p99", "cpu/req", "errors")
		for _, res := range s.Results {
			t50, t99 := "-", "-"
			if s.Stream {
				t50, t99 = FormatMS(res.TTFBP50), FormatMS(res.TTFBP99)
			}
			name := res.Target
			if res.Round > 0 {
				name = fmt.Sprintf("%s #%d", name, res.Round+1)
			}
			fmt.Fprintf(&b, rowFormat, name, fmt.Sprintf("%.0f", res.RPS), FormatMS(res.P50), FormatMS(res.P99), t50, t99, FormatMicros(res.CPUPerRequest()), errorCell(res))
		}
		writeUpstreams(&b, s)
		gw, okG := s.Result(TargetGateway)
		if bare, ok := s.Result(TargetProxy); ok && okG {
			writeComparison(&b, "gateway/bare-proxy", "bare proxy", s.Stream, gw, bare)
		}
		if m, ok := s.Result(TargetMock); ok && okG {
			writeComparison(&b, "gateway/mock", "mock", s.Stream, gw, m)
		}
		writeRatios(&b, s, TargetGateway, TargetProxy)
		writeRatios(&b, s, TargetGoverned, TargetGateway)
		writeRedisCPU(&b, s)
		writeRatios(&b, s, TargetGateway, TargetNginx)
		if okG {
			fmt.Fprintf(&b, "gateway peak RSS: %s\n", FormatBytes(s.GatewayPeakRSS))
		}
	}
	for _, s := range r.Scenarios {
		for _, res := range s.Results {
			if !res.Failed() {
				continue
			}
			fmt.Fprintf(&b, "\n!!! ERRORS: %s/%s: %d errors and %d non-2xx responses (%d ok); its numbers are not trustworthy\n",
				s.Name, res.Target, res.Errors, res.Non2xx, res.Requests)
			if len(res.Statuses) > 0 {
				codes := make([]int, 0, len(res.Statuses))
				for c := range res.Statuses {
					codes = append(codes, c)
				}
				slices.Sort(codes)
				parts := make([]string, 0, len(codes))
				for _, c := range codes {
					parts = append(parts, fmt.Sprintf("%d x%d", c, res.Statuses[c]))
				}
				fmt.Fprintf(&b, "    statuses: %s\n", strings.Join(parts, ", "))
			}
			for _, e := range res.ErrorSamples {
				fmt.Fprintf(&b, "    e.g. %s\n", e)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeUpstreams writes, for the rows that know it, what each target sent
// the mock: requests and connections by HTTP version.
func writeUpstreams(b *strings.Builder, s ScenarioReport) {
	for _, res := range s.Results {
		if res.Upstream == nil {
			continue
		}
		name := res.Target
		if name == TargetMock {
			name = "bench's client"
		}
		if res.Round > 0 {
			name = fmt.Sprintf("%s (round %d)", name, res.Round+1)
		}
		fmt.Fprintf(b, "  %s sent the mock: %s\n", name, protocolsText(res.Upstream))
	}
}

// writeRedisCPU writes, when the governed rows know it, the CPU time
// Redis spent per governed request, and the governed path's CPU per
// request with it over the plain gateway's, round by round.
func writeRedisCPU(b *strings.Builder, s ScenarioReport) {
	var per []string
	var ratios []float64
	for _, t := range s.Results {
		if t.Target != TargetGoverned || t.RedisCPU <= 0 || t.Requests == 0 {
			continue
		}
		redis := t.RedisCPU / time.Duration(t.Requests)
		per = append(per, FormatMicros(redis))
		for _, g := range s.Results {
			if g.Target == TargetGateway && g.Round == t.Round && g.CPUPerRequest() > 0 && t.CPUPerRequest() > 0 {
				ratios = append(ratios, float64(t.CPUPerRequest()+redis)/float64(g.CPUPerRequest()))
			}
		}
	}
	if len(per) == 0 {
		return
	}
	fmt.Fprintf(b, "governed: Redis's own CPU per request by round: %s", strings.Join(per, ", "))
	if len(ratios) > 0 {
		fmt.Fprintf(b, "   (governed + Redis)/gateway cpu per request: %s", joinRatios(ratios))
		if len(ratios) >= 3 {
			fmt.Fprintf(b, "   median: %.2f", median(ratios))
		}
	}
	b.WriteString("\n")
}

// writeRatios writes, when target and base both have a row with CPU
// times, target's throughput and CPU per request over base's, round by
// round (each round ran the two one after the other), and from three
// rounds on the median of each: this machine's noise moves one round's
// ratio by a quarter, and the median is what a goal is read against.
func writeRatios(b *strings.Builder, s ScenarioReport, target, base string) {
	var tput, cpu []float64
	for _, t := range s.Results {
		if t.Target != target {
			continue
		}
		for _, bs := range s.Results {
			if bs.Target != base || bs.Round != t.Round || bs.RPS == 0 || t.CPUPerRequest() == 0 || bs.CPUPerRequest() == 0 {
				continue
			}
			tput = append(tput, t.RPS/bs.RPS)
			cpu = append(cpu, float64(t.CPUPerRequest())/float64(bs.CPUPerRequest()))
		}
	}
	if len(tput) == 0 {
		return
	}
	fmt.Fprintf(b, "%s/%s by round: throughput %s   cpu per request %s", target, base, joinRatios(tput), joinRatios(cpu))
	if len(tput) >= 3 {
		fmt.Fprintf(b, "   median: %.2f, %.2f", median(tput), median(cpu))
	}
	b.WriteString("\n")
}

func joinRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, ", ")
}

// median returns the middle of rs, or the mean of the two middle ones.
func median(rs []float64) float64 {
	s := slices.Sorted(slices.Values(rs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func writeComparison(b *strings.Builder, label, base string, stream bool, target, baseline Result) {
	if target.Requests == 0 || baseline.Requests == 0 {
		fmt.Fprintf(b, "%s: n/a (no successful request to compare)\n", label)
		return
	}
	c := Compare(target, baseline)
	ratio := "n/a"
	if c.Throughput > 0 {
		ratio = fmt.Sprintf("%.2f", c.Throughput)
	}
	fmt.Fprintf(b, "%s throughput: %s   added latency vs %s p50: %s p99: %s", label, ratio, base, FormatAdded(c.AddedP50), FormatAdded(c.AddedP99))
	if stream {
		fmt.Fprintf(b, "   ttfb p50: %s p99: %s", FormatAdded(c.AddedTTFBP50), FormatAdded(c.AddedTTFBP99))
	}
	b.WriteString("\n")
}

// JSON shapes: durations in milliseconds, sizes in bytes.
type (
	jsonReport struct {
		Concurrency   int            `json:"concurrency"`
		DurationMS    float64        `json:"duration_ms"`
		WarmupMS      float64        `json:"warmup_ms"`
		MockLatencyMS float64        `json:"mock_latency_ms"`
		MockTPS       float64        `json:"mock_tokens_per_second"`
		PromptBytes   int            `json:"prompt_bytes"`
		External      bool           `json:"external_upstream"`
		UpstreamTLS   bool           `json:"upstream_tls"`
		CPUs          int            `json:"cpus,omitempty"`
		LoadAvg       string         `json:"load_average,omitempty"`
		Failed        bool           `json:"failed"`
		Scenarios     []jsonScenario `json:"scenarios"`
	}
	jsonScenario struct {
		Name           string          `json:"name"`
		Stream         bool            `json:"stream"`
		Targets        []jsonResult    `json:"targets"`
		VsBareProxy    *jsonComparison `json:"gateway_vs_bare_proxy,omitempty"`
		VsMock         *jsonComparison `json:"gateway_vs_mock,omitempty"`
		GatewayPeakRSS *int64          `json:"gateway_peak_rss_bytes"`
	}
	jsonResult struct {
		Target       string           `json:"target"`
		Requests     int64            `json:"requests"`
		Non2xx       int64            `json:"non_2xx"`
		Errors       int64            `json:"errors"`
		Statuses     map[string]int64 `json:"statuses,omitempty"`
		ErrorSamples []string         `json:"error_samples,omitempty"`
		ElapsedMS    float64          `json:"elapsed_ms"`
		RPS          float64          `json:"requests_per_second"`
		P50MS        float64          `json:"p50_ms"`
		P99MS        float64          `json:"p99_ms"`
		TTFBP50MS    *float64         `json:"ttfb_p50_ms,omitempty"`
		TTFBP99MS    *float64         `json:"ttfb_p99_ms,omitempty"`
		Round        int              `json:"round"`
		CPUPerReqUS  *float64         `json:"cpu_per_request_us,omitempty"`
		RedisCPUUS   *float64         `json:"redis_cpu_per_request_us,omitempty"`
		// Upstream is what the target sent the mock, by HTTP version
		// (with --upstream-tls).
		Upstream *mock.ProtocolCounts `json:"upstream,omitempty"`
	}
	jsonComparison struct {
		Throughput     float64  `json:"throughput_ratio"`
		AddedP50MS     float64  `json:"added_p50_ms"`
		AddedP99MS     float64  `json:"added_p99_ms"`
		AddedTTFBP50MS *float64 `json:"added_ttfb_p50_ms,omitempty"`
		AddedTTFBP99MS *float64 `json:"added_ttfb_p99_ms,omitempty"`
	}
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msPtr(d time.Duration) *float64 {
	v := ms(d)
	return &v
}

func jsonCompare(c Comparison, stream bool) *jsonComparison {
	j := &jsonComparison{Throughput: c.Throughput, AddedP50MS: ms(c.AddedP50), AddedP99MS: ms(c.AddedP99)}
	if stream {
		j.AddedTTFBP50MS, j.AddedTTFBP99MS = msPtr(c.AddedTTFBP50), msPtr(c.AddedTTFBP99)
	}
	return j
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		Concurrency:   r.Concurrency,
		DurationMS:    ms(r.Duration),
		WarmupMS:      ms(r.Warmup),
		MockLatencyMS: ms(r.MockLatency),
		MockTPS:       r.MockTPS,
		PromptBytes:   r.PromptBytes,
		External:      r.ExternalUpstream,
		UpstreamTLS:   r.UpstreamTLS,
		CPUs:          r.CPUs,
		LoadAvg:       r.LoadAvg,
		Failed:        r.Failed(),
		Scenarios:     []jsonScenario{},
	}
	for _, s := range r.Scenarios {
		js := jsonScenario{Name: s.Name, Stream: s.Stream, Targets: []jsonResult{}}
		for _, res := range s.Results {
			jr := jsonResult{
				Target:       res.Target,
				Requests:     res.Requests,
				Non2xx:       res.Non2xx,
				Errors:       res.Errors,
				ErrorSamples: res.ErrorSamples,
				ElapsedMS:    ms(res.Elapsed),
				RPS:          res.RPS,
				P50MS:        ms(res.P50),
				P99MS:        ms(res.P99),
			}
			for code, n := range res.Statuses {
				if jr.Statuses == nil {
					jr.Statuses = map[string]int64{}
				}
				jr.Statuses[fmt.Sprint(code)] = n
			}
			if s.Stream {
				jr.TTFBP50MS, jr.TTFBP99MS = msPtr(res.TTFBP50), msPtr(res.TTFBP99)
			}
			jr.Round = res.Round + 1
			jr.Upstream = res.Upstream
			if c := res.CPUPerRequest(); c > 0 {
				us := float64(c) / float64(time.Microsecond)
				jr.CPUPerReqUS = &us
			}
			if res.RedisCPU > 0 && res.Requests > 0 {
				us := float64(res.RedisCPU/time.Duration(res.Requests)) / float64(time.Microsecond)
				jr.RedisCPUUS = &us
			}
			js.Targets = append(js.Targets, jr)
		}
		gw, hasGW := s.Result(TargetGateway)
		if bare, ok := s.Result(TargetProxy); ok && hasGW && gw.Requests > 0 && bare.Requests > 0 {
			js.VsBareProxy = jsonCompare(Compare(gw, bare), s.Stream)
		}
		if m, ok := s.Result(TargetMock); ok && hasGW && gw.Requests > 0 && m.Requests > 0 {
			js.VsMock = jsonCompare(Compare(gw, m), s.Stream)
		}
		if hasGW && s.GatewayPeakRSS >= 0 {
			v := s.GatewayPeakRSS
			js.GatewayPeakRSS = &v
		}
		out.Scenarios = append(out.Scenarios, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
