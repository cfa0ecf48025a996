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
	t.Setenv(fakeSpillwayEnv, "1")
	cfg := shortConfig()
	cfg.MaxTokens = 4096
	sp, err := Spawn(context.Background(), SpawnOptions{
		Exe: testExe(t), Concurrency: 4, MockTPS: 20,
		Model: cfg.Model, Key: cfg.Key, UpstreamKey: cfg.UpstreamKey, Nginx: exe,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Stop()
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
