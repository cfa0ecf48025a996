package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	t.Setenv(fakeSpillwayEnv, "1")
	cfg := shortConfig()
	cfg.Duration = 500 * time.Millisecond
	var log bytes.Buffer
	sp, err := Spawn(context.Background(), SpawnOptions{
		Exe:         testExe(t),
		Concurrency: cfg.Concurrency,
		Model:       cfg.Model,
		Key:         cfg.Key,
		UpstreamKey: cfg.UpstreamKey,
		Nginx:       exe,
		Log:         &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sp.Stop()
		if t.Failed() {
			t.Logf("bench log:\n%s\n%s", log.String(), sp.Stderr())
		}
	}()
	if sp.Nginx == "" || sp.NginxPID == 0 {
		t.Fatalf("Spawn with Nginx: got endpoint %q pid %d", sp.Nginx, sp.NginxPID)
	}
	rep, err := Run(context.Background(), cfg, sp.Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Fatalf("the run saw errors:\n%s", b.String())
	}
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
	workers := childrenOf(t, sp.NginxPID)
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

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppid, err := ParseStatPPID(string(b)); err == nil && ppid == pid {
			out = append(out, n)
		}
	}
	return out
}
