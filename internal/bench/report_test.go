package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"ms", FormatMS(1234567 * time.Nanosecond), "1.23ms"},
		{"ms zero", FormatMS(0), "0.00ms"},
		{"ms large", FormatMS(2 * time.Second), "2000.00ms"},
		{"added positive", FormatAdded(120 * time.Microsecond), "+0.12ms"},
		{"added zero", FormatAdded(0), "+0.00ms"},
		{"added negative", FormatAdded(-50 * time.Microsecond), "-0.05ms"},
		{"bytes", FormatBytes(23*(1<<20) + 400*(1<<10)), "23.4 MiB"},
		{"bytes unknown", FormatBytes(-1), "n/a"},
		{"duration seconds", FormatDuration(10 * time.Second), "10s"},
		{"duration fraction", FormatDuration(1500 * time.Millisecond), "1.5s"},
		{"duration ms", FormatDuration(300 * time.Millisecond), "300ms"},
		{"duration minute", FormatDuration(time.Minute), "1m"},
		{"duration minute and seconds", FormatDuration(90 * time.Second), "1m30s"},
		{"duration zero", FormatDuration(0), "0"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	gw := Result{RPS: 870, P50: 2 * time.Millisecond, P99: 5 * time.Millisecond, TTFBP50: time.Millisecond}
	bare := Result{RPS: 1000, P50: 1880 * time.Microsecond, P99: 4600 * time.Microsecond, TTFBP50: 900 * time.Microsecond}
	got := Compare(gw, bare)
	want := Comparison{Throughput: 0.87, AddedP50: 120 * time.Microsecond, AddedP99: 400 * time.Microsecond, AddedTTFBP50: 100 * time.Microsecond}
	if got != want {
		t.Errorf("Compare = %+v, want %+v", got, want)
	}
	if got := Compare(gw, Result{}).Throughput; got != 0 {
		t.Errorf("Compare against a baseline with no throughput: ratio %v, want 0", got)
	}
}

func sampleReport() *Report {
	row := func(name string, rps float64, p50, p99 time.Duration) Result {
		return Result{Target: name, Requests: int64(rps * 10), RPS: rps, P50: p50, P99: p99, Elapsed: 10 * time.Second}
	}
	us := time.Microsecond
	stream := func(r Result, t50, t99 time.Duration) Result {
		r.Stream, r.TTFBP50, r.TTFBP99 = true, t50, t99
		return r
	}
	return &Report{
		Concurrency: 64, Duration: 10 * time.Second, Warmup: time.Second,
		Scenarios: []ScenarioReport{
			{Name: "chat", GatewayPeakRSS: 23*(1<<20) + 400*(1<<10), Results: []Result{
				row("mock", 40000, 1500*us, 4000*us),
				row("bare-proxy", 20000, 3000*us, 8000*us),
				row("gateway", 17400, 3120*us, 8400*us),
			}},
			{Name: "stream", Stream: true, GatewayPeakRSS: -1, Results: []Result{
				stream(row("mock", 10000, 6000*us, 9000*us), 500*us, 900*us),
				stream(row("bare-proxy", 8000, 7000*us, 12000*us), 700*us, 1500*us),
				stream(row("gateway", 4000, 15000*us, 30000*us), 1200*us, 2500*us),
			}},
		},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `scenario: chat (64 concurrent, 10s each, mock latency 0)
target        req/s     p50       p99       ttfb p50  ttfb p99  cpu/req   errors
mock          40000     1.50ms    4.00ms    -         -         -         0
bare-proxy    20000     3.00ms    8.00ms    -         -         -         0
gateway       17400     3.12ms    8.40ms    -         -         -         0
gateway/bare-proxy throughput: 0.87   added latency vs bare proxy p50: +0.12ms p99: +0.40ms
gateway/mock throughput: 0.43   added latency vs mock p50: +1.62ms p99: +4.40ms
gateway peak RSS: 23.4 MiB

scenario: stream (64 concurrent, 10s each, mock latency 0, unpaced stream)
target        req/s     p50       p99       ttfb p50  ttfb p99  cpu/req   errors
mock          10000     6.00ms    9.00ms    0.50ms    0.90ms    -         0
bare-proxy    8000      7.00ms    12.00ms   0.70ms    1.50ms    -         0
gateway       4000      15.00ms   30.00ms   1.20ms    2.50ms    -         0
gateway/bare-proxy throughput: 0.50   added latency vs bare proxy p50: +8.00ms p99: +18.00ms   ttfb p50: +0.50ms p99: +1.00ms
gateway/mock throughput: 0.40   added latency vs mock p50: +9.00ms p99: +21.00ms   ttfb p50: +0.70ms p99: +1.60ms
gateway peak RSS: n/a
`
	if got := b.String(); got != want {
		t.Errorf("WriteText:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTextErrorsAreLoud(t *testing.T) {
	r := sampleReport()
	r.MockTPS = 50
	r.CPUs, r.LoadAvg = 2, "0.50 0.40 0.30"
	gw := &r.Scenarios[1].Results[2]
	r.Scenarios[0].Results[2].Requests = 0 // the chat gateway row: nothing to compare
	gw.Errors, gw.Non2xx = 2, 5
	gw.Statuses = map[int]int64{502: 3, 429: 2}
	gw.ErrorSamples = []string{"HTTP 502: bad gateway", "EOF"}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"machine: 2 CPUs, load average 0.50 0.40 0.30 at start\n\nscenario: chat (",
		"mock latency 0, 50 tokens/s)",
		"gateway       4000      15.00ms   30.00ms   1.20ms    2.50ms    -         7 (5 non-2xx)\n",
		"!!! ERRORS: stream/gateway: 2 errors and 5 non-2xx responses (40000 ok); its numbers are not trustworthy\n",
		"    statuses: 429 x2, 502 x3\n",
		"    e.g. HTTP 502: bad gateway\n",
		"    e.g. EOF\n",
		"gateway/bare-proxy: n/a (no successful request to compare)\ngateway/mock: n/a (no successful request to compare)\ngateway peak RSS: 23.4 MiB\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("WriteText: got\n%s\nwant it to contain %q", got, want)
		}
	}
	if !r.Failed() {
		t.Errorf("Failed() = false, want true")
	}
	if sampleReport().Failed() {
		t.Errorf("Failed() of a clean report = true, want false")
	}
}

func TestWriteTextExternalUpstream(t *testing.T) {
	r := sampleReport()
	r.ExternalUpstream, r.MockTPS = true, 20
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario: chat (64 concurrent, 10s each, external upstream)\n", "scenario: stream (64 concurrent, 10s each, external upstream)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteText: got\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}

func TestWriteTextPartialTargets(t *testing.T) {
	r := &Report{Concurrency: 4, Duration: time.Second, Scenarios: []ScenarioReport{
		{Name: "chat", GatewayPeakRSS: -1, Results: []Result{{Target: "mock", RPS: 10}}},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"throughput", "peak RSS"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("WriteText without a gateway row: got\n%s\nwant no %q line", b.String(), absent)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Concurrency int  `json:"concurrency"`
		Failed      bool `json:"failed"`
		Scenarios   []struct {
			Name    string `json:"name"`
			Targets []struct {
				Target  string   `json:"target"`
				RPS     float64  `json:"requests_per_second"`
				P50     float64  `json:"p50_ms"`
				TTFBP50 *float64 `json:"ttfb_p50_ms"`
			} `json:"targets"`
			VsBare *struct {
				Throughput float64 `json:"throughput_ratio"`
				AddedP50   float64 `json:"added_p50_ms"`
			} `json:"gateway_vs_bare_proxy"`
			RSS *int64 `json:"gateway_peak_rss_bytes"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON wrote invalid JSON: %v\n%s", err, b.String())
	}
	if got.Concurrency != 64 || got.Failed || len(got.Scenarios) != 2 {
		t.Fatalf("WriteJSON: got %+v, want concurrency 64, not failed, 2 scenarios", got)
	}
	chat, stream := got.Scenarios[0], got.Scenarios[1]
	if len(chat.Targets) != 3 || chat.Targets[2].Target != "gateway" || chat.Targets[2].RPS != 17400 || chat.Targets[2].P50 != 3.12 {
		t.Errorf("chat targets: got %+v, want gateway third with 17400 req/s and p50 3.12", chat.Targets)
	}
	if chat.Targets[0].TTFBP50 != nil {
		t.Errorf("chat ttfb: got %v, want none", *chat.Targets[0].TTFBP50)
	}
	if stream.Targets[0].TTFBP50 == nil || *stream.Targets[0].TTFBP50 != 0.5 {
		t.Errorf("stream mock ttfb p50: got %v, want 0.5", stream.Targets[0].TTFBP50)
	}
	if chat.VsBare == nil || chat.VsBare.Throughput != 0.87 || chat.VsBare.AddedP50 < 0.119 || chat.VsBare.AddedP50 > 0.121 {
		t.Errorf("chat gateway vs bare proxy: got %+v, want ratio 0.87, added p50 0.12", chat.VsBare)
	}
	if chat.RSS == nil || *chat.RSS != 23*(1<<20)+400*(1<<10) {
		t.Errorf("chat RSS: got %v, want %d", chat.RSS, 23*(1<<20)+400*(1<<10))
	}
	if stream.RSS != nil {
		t.Errorf("stream RSS: got %d, want null", *stream.RSS)
	}
}

func TestAppendTail(t *testing.T) {
	var tail []byte
	for _, p := range []string{"data: {\"x\":1}\n\n", "data: [DO", "NE]\n\n"} {
		tail = appendTail(tail, []byte(p))
	}
	if got, want := string(tail), "data: {\"x\":1}\n\ndata: [DONE]\n\n"; got != want[len(want)-min(len(want), tailLen):] {
		t.Errorf("appendTail: got %q, want the last %d bytes of %q", got, tailLen, want)
	}
	long := strings.Repeat("x", 100) + "END"
	if got := string(appendTail([]byte("abc"), []byte(long))); got != long[len(long)-tailLen:] {
		t.Errorf("appendTail with a long chunk: got %q, want %q", got, long[len(long)-tailLen:])
	}
}

func TestEndsWithDone(t *testing.T) {
	tests := []struct {
		tail string
		want bool
	}{
		{"data: [DONE]\n\n", true},
		{"data: [DONE]\r\n\r\n", true},
		{"data: [DONE]", true},
		{"}\n\ndata: [DONE]\n\n", true},
		{"data: {\"choices\":[]}\n\n", false},
		{"", false},
		{"data: [DONE]\n\ndata: {}\n\n", false},
	}
	for _, tt := range tests {
		if got := endsWithDone([]byte(tt.tail)); got != tt.want {
			t.Errorf("endsWithDone(%q) = %v, want %v", tt.tail, got, tt.want)
		}
	}
}

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"chat,stream", "chat,stream", false},
		{"stream", "stream", false},
		{" chat , ", "chat", false},
		{"stream,chat", "stream,chat", false},
		{"", "", true},
		{"chat,chat", "", true},
		{"chat,embeddings", "", true},
	}
	for _, tt := range tests {
		got, err := ParseScenarios(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseScenarios(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if g := strings.Join(got, ","); g != tt.want {
			t.Errorf("ParseScenarios(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		stream bool
		want   string
	}{
		{false, `{"max_tokens":16,"messages":[{"content":"hi","role":"user"}],"model":"gpt-4o"}`},
		{true, `{"max_tokens":16,"messages":[{"content":"hi","role":"user"}],"model":"gpt-4o","stream":true}`},
	}
	for _, tt := range tests {
		if got := string(RequestBody("gpt-4o", 16, tt.stream, "")); got != tt.want {
			t.Errorf("RequestBody(stream=%v) = %s, want %s", tt.stream, got, tt.want)
		}
	}
}

// TestWriteRatios: the by-round ratios of two targets, and from three
// rounds on their medians.
func TestWriteRatios(t *testing.T) {
	row := func(name string, round int, rps float64, cpuPerReq time.Duration) Result {
		n := int64(rps * 10)
		return Result{Target: name, Round: round, Requests: n, RPS: rps, CPU: cpuPerReq * time.Duration(n), Elapsed: 10 * time.Second}
	}
	us := time.Microsecond
	tests := []struct {
		name    string
		results []Result
		want    string
	}{
		{"two rounds, no median", []Result{
			row("bare-proxy", 1, 10000, 100*us), row("gateway", 1, 9000, 110*us),
			row("gateway", 2, 10000, 90*us), row("bare-proxy", 2, 10000, 100*us),
		}, "gateway/bare-proxy by round: throughput 0.90, 1.00   cpu per request 1.10, 0.90\n"},
		{"three rounds, odd median", []Result{
			row("bare-proxy", 1, 10000, 100*us), row("gateway", 1, 9000, 110*us),
			row("bare-proxy", 2, 10000, 100*us), row("gateway", 2, 12000, 80*us),
			row("bare-proxy", 3, 10000, 100*us), row("gateway", 3, 10000, 130*us),
		}, "gateway/bare-proxy by round: throughput 0.90, 1.20, 1.00   cpu per request 1.10, 0.80, 1.30   median: 1.00, 1.10\n"},
		{"four rounds, even median", []Result{
			row("bare-proxy", 1, 10000, 100*us), row("gateway", 1, 9000, 110*us),
			row("bare-proxy", 2, 10000, 100*us), row("gateway", 2, 12000, 80*us),
			row("bare-proxy", 3, 10000, 100*us), row("gateway", 3, 10000, 130*us),
			row("bare-proxy", 4, 10000, 100*us), row("gateway", 4, 8000, 100*us),
		}, "gateway/bare-proxy by round: throughput 0.90, 1.20, 1.00, 0.80   cpu per request 1.10, 0.80, 1.30, 1.00   median: 0.95, 1.05\n"},
		{"no CPU times", []Result{
			{Target: "bare-proxy", Round: 1, Requests: 10, RPS: 1}, {Target: "gateway", Round: 1, Requests: 10, RPS: 1},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeRatios(&b, ScenarioReport{Name: "chat", Results: tt.results}, TargetGateway, TargetProxy)
			if got := b.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestPrompt: --prompt-bytes gives a prompt of that many bytes, or a
// character fewer or so where a cut would split one, always valid UTF-8
// with escapes in its JSON, and the bodies carry it.
func TestPrompt(t *testing.T) {
	for _, n := range []int{0, 1, 100, 117, 4096, 65536} {
		p := Prompt(n)
		if len(p) > n || len(p) < n-3 {
			t.Errorf("Prompt(%d): %d bytes, want %d (or up to 3 fewer)", n, len(p), n)
		}
		if !utf8.ValidString(p) {
			t.Errorf("Prompt(%d) is not valid UTF-8", n)
		}
		if n >= 4096 && (!strings.Contains(p, "\n") || !strings.Contains(p, `"`)) {
			t.Errorf("Prompt(%d) has no newline or quote to escape", n)
		}
		for _, body := range [][]byte{RequestBody("gpt-4o", 16, true, p), ResponsesBody("gpt-4o", 16, p)} {
			var v struct {
				Model        string
				Instructions string
				Messages     []struct{ Role, Content string }
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("Prompt(%d): body %s: %v", n, body, err)
			}
			got := v.Instructions
			if len(v.Messages) > 0 {
				if last := v.Messages[len(v.Messages)-1]; last.Content != "hi" {
					t.Errorf("Prompt(%d): last message %q, want the user's hi", n, last.Content)
				}
				if len(v.Messages) == 2 {
					got = v.Messages[0].Content
				}
			}
			if got != p || v.Model != "gpt-4o" {
				t.Errorf("Prompt(%d): body carries prompt %d bytes, model %q; want %d bytes, gpt-4o", n, len(got), v.Model, len(p))
			}
		}
	}
}

func TestValidatePromptBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want bool
	}{{-1, false}, {0, true}, {4096, true}, {maxPromptBytes, true}, {maxPromptBytes + 1, false}} {
		c := Config{Concurrency: 1, Duration: time.Second, Scenarios: []string{ScenarioChat}, Model: "gpt-4o", MaxTokens: 16, PromptBytes: tt.n}
		if got := c.Validate() == nil; got != tt.want {
			t.Errorf("Validate with PromptBytes %d: ok %v, want %v (%v)", tt.n, got, tt.want, c.Validate())
		}
	}
}

// TestReportPromptBytes: a run with --prompt-bytes says so, in text and
// JSON, and a run without says nothing of it in the text.
func TestReportPromptBytes(t *testing.T) {
	for _, n := range []int{0, 4096} {
		r := &Report{Concurrency: 1, Duration: time.Second, PromptBytes: n, Scenarios: []ScenarioReport{{Name: ScenarioChat}}}
		var text, js bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Contains(text.String(), "4096-byte prompt"), n > 0; got != want {
			t.Errorf("PromptBytes %d: text names the prompt %v, want %v:\n%s", n, got, want, text.String())
		}
		var v struct {
			PromptBytes int `json:"prompt_bytes"`
		}
		if err := json.Unmarshal(js.Bytes(), &v); err != nil || v.PromptBytes != n {
			t.Errorf("PromptBytes %d: JSON prompt_bytes %d (%v)", n, v.PromptBytes, err)
		}
	}
}
