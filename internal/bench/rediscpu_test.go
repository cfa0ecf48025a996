package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

func TestParseRedisCPU(t *testing.T) {
	tests := []struct {
		name    string
		info    string
		want    time.Duration
		wantErr bool
	}{
		{name: "redis 7", info: "# CPU\r\nused_cpu_sys:2.747508\r\nused_cpu_user:5.385108\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.001000\r\n", want: 8132616 * time.Microsecond},
		{name: "zero", info: "used_cpu_sys:0.000000\nused_cpu_user:0.000000\n", want: 0},
		{name: "no user time", info: "used_cpu_sys:1.0\n", wantErr: true},
		{name: "not a number", info: "used_cpu_sys:x\nused_cpu_user:1\n", wantErr: true},
		{name: "negative", info: "used_cpu_sys:-1\nused_cpu_user:1\n", wantErr: true},
		{name: "empty", info: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRedisCPU(tt.info)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseRedisCPU: got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestRedisCPUOfRealServer reads a real Redis's CPU time twice: it moves
// forward, never back.
func TestRedisCPUOfRealServer(t *testing.T) {
	read, err := redisCPU(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	first, err := read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	second, err := read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first <= 0 || second < first {
		t.Errorf("Redis CPU read twice: %v then %v; want positive and not decreasing", first, second)
	}
	if _, err := redisCPU("not a url"); err == nil {
		t.Error("redisCPU of a bad URL: got no error")
	}
}

// TestRunReadsRedisCPUForGovernedRows: Run reads the Redis CPU around the
// governed rows only, and the report gives it per request and the
// governed path's CPU with it over the plain gateway's.
func TestRunReadsRedisCPUForGovernedRows(t *testing.T) {
	m := httptest.NewServer(mock.New(mock.Options{RequireKey: "bench-upstream-key"}))
	defer m.Close()
	mu, _ := url.Parse(m.URL)
	gw := httptest.NewServer(fakeGateway(mu, "sk-bench", "gpt-4o", "bench-upstream-key"))
	defer gw.Close()
	// A reader whose clock moves a second each read: a governed row sees
	// one second of Redis CPU.
	var reads atomic.Int64
	ep := Endpoints{
		Gateway: gw.URL, Governed: gw.URL, GovernedKey: "sk-bench",
		// Both serve in this process: its CPU time gives the ratios.
		GatewayPID: os.Getpid(), GovernedPID: os.Getpid(),
		RedisCPU: func(context.Context) (time.Duration, error) {
			return time.Duration(reads.Add(1)) * time.Second, nil
		},
	}
	if !runtimeHasProc() {
		t.Skip("CPU time is read from /proc")
	}
	cfg := shortConfig()
	cfg.Scenarios = []string{ScenarioChat}
	cfg.Rounds = 3
	rep, err := Run(context.Background(), cfg, ep)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reads.Load(), int64(2*cfg.Rounds); got != want {
		t.Errorf("Redis CPU read %d times, want %d (before and after each governed row)", got, want)
	}
	for _, r := range rep.Scenarios[0].Results {
		want := time.Duration(0)
		if r.Target == TargetGoverned {
			want = time.Second
		}
		if r.RedisCPU != want {
			t.Errorf("%s round %d: RedisCPU %v, want %v", r.Target, r.Round+1, r.RedisCPU, want)
		}
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "governed: Redis's own CPU per request by round: ") ||
		!strings.Contains(b.String(), "(governed + Redis)/gateway cpu per request: ") {
		t.Errorf("report has no Redis CPU line:\n%s", b.String())
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js.Bytes()) || !strings.Contains(js.String(), `"redis_cpu_per_request_us"`) {
		t.Errorf("JSON report has no redis_cpu_per_request_us:\n%s", js.String())
	}
}

// TestRedisCPUExcludesWarmup: Redis's CPU time is divided by the measured
// run's requests, so it is read around the measured run only, as the
// target's own CPU time is, not around its warm-up too. Every governed
// request here costs exactly 1µs of "Redis CPU"; with a warm-up as long
// as the run, reading it around both said about 2µs (review finding).
func TestRedisCPUExcludesWarmup(t *testing.T) {
	var served atomic.Int64
	gov := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[]}`)
	}))
	defer gov.Close()
	ep := Endpoints{
		Governed: gov.URL, GovernedKey: "sk-bench",
		RedisCPU: func(context.Context) (time.Duration, error) {
			return time.Duration(served.Load()) * time.Microsecond, nil
		},
	}
	cfg := shortConfig()
	cfg.Scenarios = []string{ScenarioChat}
	cfg.Concurrency = 2
	cfg.Warmup, cfg.Duration = 300*time.Millisecond, 300*time.Millisecond
	rep, err := Run(context.Background(), cfg, ep)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rep.Scenarios[0].Result(TargetGoverned)
	if !ok || r.Requests == 0 {
		t.Fatalf("no governed row with requests: %+v", rep.Scenarios[0].Results)
	}
	perReq := r.RedisCPU / time.Duration(r.Requests)
	if perReq > 1250*time.Nanosecond {
		t.Errorf("Redis CPU per governed request %v (RedisCPU %v over %d measured requests; %d served in all), want about 1µs: the warm-up's Redis time is counted against the measured requests",
			perReq, r.RedisCPU, r.Requests, served.Load())
	}
}
