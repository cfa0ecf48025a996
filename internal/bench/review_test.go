package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestReviewRedisCPUExcludesWarmup: Result.RedisCPU is divided by the
// measured run's requests (report and JSON), so it must cover the measured
// run only, as Result.CPU does (Load reads it after the warm-up). Run reads
// it before Load, warm-up included. Here every governed request costs
// exactly 1µs of "Redis CPU"; with a warm-up as long as the run, the
// report says about 2µs.
func TestReviewRedisCPUExcludesWarmup(t *testing.T) {
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

// reviewHelperEnv makes TestReviewNginxHelper start nginx as bench does
// and wait to be killed.
const reviewHelperEnv = "SPILLWAY_REVIEW_NGINX_HELPER"

// TestReviewNginxHelper is not a test by itself: run by
// TestReviewNginxOutlivesBench in a process of its own, it starts nginx as
// Spawn does (startNginx), prints the master's and workers' ids and
// waits to be killed.
func TestReviewNginxHelper(t *testing.T) {
	if os.Getenv(reviewHelperEnv) != "1" {
		t.Skip("helper of TestReviewNginxOutlivesBench")
	}
	dir, err := os.MkdirTemp("", "spillway-review-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Spawned{dir: dir, log: io.Discard}
	if err := s.startNginx(context.Background(), os.Getenv("SPILLWAY_REVIEW_NGINX"), "http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("DIR %s\n", dir)
	fmt.Printf("PIDS %d %s\n", s.NginxPID, strings.Trim(fmt.Sprint(Children(s.NginxPID)), "[]"))
	time.Sleep(time.Minute)
}

// TestReviewNginxOutlivesBench: every child bench starts dies with it
// (Pdeathsig: SIGKILL), which for a Go child is the whole target. For
// nginx it is the master only: when bench dies without Stop (SIGKILL, an
// OOM kill, a panic in a load goroutine), the workers are reparented and
// keep serving the port, with their keep-alive connections, for good.
// child.stop's last resort (Kill after 5 s) leaves them the same way.
func TestReviewNginxOutlivesBench(t *testing.T) {
	exe := testenv.Nginx(t)
	cmd := exec.Command(testExe(t), "-test.run=^TestReviewNginxHelper$", "-test.v")
	cmd.Env = append(os.Environ(), reviewHelperEnv+"=1", "SPILLWAY_REVIEW_NGINX="+exe, fakeSpillwayEnv+"=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if dir, ok := strings.CutPrefix(sc.Text(), "DIR "); ok && strings.Contains(dir, "spillway-review-nginx-") {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
		}
		if rest, ok := strings.CutPrefix(sc.Text(), "PIDS "); ok {
			for _, f := range strings.Fields(rest) {
				n, _ := strconv.Atoi(f)
				pids = append(pids, n)
			}
			break
		}
	}
	if len(pids) < 2 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper printed no nginx master and workers (got %v)", pids)
	}
	// Whatever is left is ours to end, by id.
	t.Cleanup(func() {
		for _, p := range pids {
			if alive(p) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	_ = cmd.Process.Kill() // bench dies without Stop
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_ = cmd.Wait()

	deadline := time.Now().Add(3 * time.Second)
	var left []int
	for {
		left = left[:0]
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("bench killed: nginx processes %v (of master and workers %v) still running 3 s later", left, pids)
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// TestReviewWaitListeningTrustsAnyListener: freePort closes its listener
// before nginx binds the port; anyone may take it meanwhile (go test runs
// packages in parallel, each with httptest servers on 127.0.0.1:0). nginx
// then fails to bind, retries for about 2.5 s and exits, but waitListening
// only dials the address: the other process answers, and bench takes it
// for nginx and measures it.
func TestReviewWaitListeningTrustsAnyListener(t *testing.T) {
	exe := testenv.Nginx(t)
	other, err := net.Listen("tcp", "127.0.0.1:0") // took the port after freePort
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, NginxConfig("127.0.0.1:1", other.Addr().String(), dir), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := startProcess("nginx", exe, []string{"-c", path, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log")}, dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	err = waitListening(context.Background(), c, other.Addr().String())
	if err != nil {
		return // refused: what it should do
	}
	select {
	case <-c.done:
		t.Errorf("waitListening said nginx listens on %s, but nginx exited (%v): the connection went to another process%s", other.Addr(), c.exitErr(), c.stderrNote())
	case <-time.After(5 * time.Second):
	}
}

// TestReviewJSONSaysUpstreamTLS: the text report says when the mock was
// on HTTPS with HTTP/2 (a different upstream path, different numbers) and
// what each target sent it; the JSON report, what a later comparison
// reads, says neither.
func TestReviewJSONSaysUpstreamTLS(t *testing.T) {
	up := mock.ProtocolCounts{}
	rep := &Report{
		Concurrency: 1, Duration: time.Second, UpstreamTLS: true,
		Scenarios: []ScenarioReport{{Name: ScenarioChat, GatewayPeakRSS: -1, Results: []Result{
			{Target: TargetGateway, Requests: 10, Elapsed: time.Second, RPS: 10, Upstream: &up},
		}}},
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenarios []struct {
			Targets []map[string]any `json:"targets"`
		} `json:"scenarios"`
	}
	var top map[string]any
	if err := json.Unmarshal(js.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "mock over HTTPS") {
		t.Fatalf("text report does not say HTTPS either:\n%s", text.String())
	}
	hasKey := func(m map[string]any, part string) bool {
		for k := range m {
			if strings.Contains(k, part) {
				return true
			}
		}
		return false
	}
	if !hasKey(top, "tls") {
		t.Errorf("JSON report has no upstream TLS field; the text says %q:\n%s", "mock over HTTPS with HTTP/2 offered", js.String())
	}
	if !hasKey(doc.Scenarios[0].Targets[0], "upstream") {
		t.Errorf("JSON target has no record of what it sent the mock (Result.Upstream):\n%s", js.String())
	}
}
