package bench

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestNginxConfigAccepted: nginx itself checks the config bench writes.
func TestNginxConfigAccepted(t *testing.T) {
	exe := testenv.Nginx(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, NginxConfig("127.0.0.1:1", "127.0.0.1:2", dir), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "-t", "-c", path, "-p", dir, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// TestSpawnNginx runs the load scenarios through a real nginx in front of
// the mock: every request answered, streams included, its workers' CPU
// counted with its master's, and nothing of it left once stopped.
func TestSpawnNginx(t *testing.T) {
	exe := testenv.Nginx(t)
	cfg := shortConfig()
	cfg.Duration = 500 * time.Millisecond
	sp := spawn(t, cfg, SpawnOptions{Nginx: exe})
	if sp.Nginx == "" || sp.NginxPID == 0 {
		t.Fatalf("Spawn with Nginx: got endpoint %q pid %d", sp.Nginx, sp.NginxPID)
	}
	rep := runClean(t, cfg, sp.Endpoints)
	for _, s := range rep.Scenarios {
		r, ok := s.Result(TargetNginx)
		if !ok {
			t.Fatalf("%s: no nginx row", s.Name)
		}
		if r.Requests <= 0 {
			t.Errorf("%s/nginx: got %d requests, want some", s.Name, r.Requests)
		}
		if s.Stream && r.TTFBP50 <= 0 {
			t.Errorf("%s/nginx: ttfb p50 %v, want > 0", s.Name, r.TTFBP50)
		}
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\nnginx ") {
		t.Errorf("report has no nginx row:\n%s", b.String())
	}

	// The master only supervises; the workers serve. Their time is in
	// TreeCPU and not in the master's own.
	workers := Children(sp.NginxPID)
	if len(workers) == 0 {
		t.Fatal("nginx has no worker processes")
	}
	own, err := ProcCPU(sp.NginxPID)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := TreeCPU(sp.NginxPID)
	if err != nil {
		t.Fatal(err)
	}
	if tree <= own {
		t.Errorf("TreeCPU %v, master's own %v: want the workers' time counted too", tree, own)
	}

	sp.Stop()
	for _, pid := range append(workers, sp.NginxPID) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("after Stop: nginx process %d still running", pid)
		}
	}
}

// TestHoldStreamsNginx holds slow streams open through nginx and reads
// its RSS as its master's and workers' together.
func TestHoldStreamsNginx(t *testing.T) {
	exe := testenv.Nginx(t)
	cfg := shortConfig()
	cfg.MaxTokens = 4096
	sp := spawn(t, cfg, SpawnOptions{MockTPS: 20, Nginx: exe})
	var target Target
	for _, tg := range cfg.StreamTargets(sp.Endpoints) {
		if tg.Name == TargetNginx {
			target = tg
		}
	}
	if target.Name == "" {
		t.Fatal("no nginx among the stream targets")
	}
	const n = 6
	res, err := HoldStreams(context.Background(), target, sp.NginxPID, StreamsOptions{Streams: n, Dialers: n, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != n || res.Failed != 0 {
		t.Fatalf("Open, Failed = %d, %d; want %d, 0 (errors %v)", res.Open, res.Failed, n, res.ErrorSamples)
	}
	own, _, err := ProcRSS(sp.NginxPID)
	if err != nil {
		t.Fatal(err)
	}
	if res.IdleRSS <= own || res.HeldRSS <= own {
		t.Errorf("idle RSS %d, held %d; want both over the master's own %d (its workers counted)", res.IdleRSS, res.HeldRSS, own)
	}
	if res.Threads < 2 {
		t.Errorf("threads %d, want the master's and the workers'", res.Threads)
	}
}

// TestWaitNginxRefusesAnotherListener: the port freePort found may be
// taken by anyone before nginx binds it; nginx then fails to bind and
// exits, and what answers on the port is someone else, whom bench must
// not take for nginx (review finding).
func TestWaitNginxRefusesAnotherListener(t *testing.T) {
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
	c, err := startProcess("nginx", exe, []string{"-c", path, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log")}, dir, "", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	err = waitNginx(context.Background(), c, other.Addr().String())
	if err != nil {
		return // refused: what it should do
	}
	select {
	case <-c.done:
		t.Errorf("waitListening said nginx listens on %s, but nginx exited (%v): the connection went to another process%s", other.Addr(), c.exitErr(), c.stderrNote())
	case <-time.After(5 * time.Second):
	}
}

// TestNginxStopEndsWorkersOfADeadMaster: nginx leads a process group of
// its own, and Stop ends what is left of it even when the master is gone
// first (killed, as child.stop's last resort kills it): its workers would
// otherwise keep the port and their upstream connections for good. A
// bench killed outright (SIGKILL) still leaves them: the kernel's death
// signal reaches only the master (review finding).
func TestNginxStopEndsWorkersOfADeadMaster(t *testing.T) {
	exe := testenv.Nginx(t)
	sp := spawn(t, shortConfig(), SpawnOptions{Nginx: exe})
	workers := Children(sp.NginxPID)
	if len(workers) == 0 {
		t.Fatal("nginx has no worker processes")
	}
	t.Cleanup(func() {
		for _, p := range workers {
			if alive(p) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	if err := syscall.Kill(sp.NginxPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sp.Stop()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var left []int
		for _, p := range workers {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Stop: nginx workers %v of a killed master still running", left)
		}
		time.Sleep(20 * time.Millisecond)
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
