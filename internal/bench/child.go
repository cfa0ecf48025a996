package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseChildURL finds the base URL a child process printed once listening,
// such as "spillway: serving on http://127.0.0.1:4000 (1 deployments, ...)"
// or a bare "http://127.0.0.1:39021/". It returns the URL without a trailing
// slash, path, query or fragment, and false if line has no http(s) URL with
// a host and a non-zero port.
func ParseChildURL(line string) (string, bool) {
	i := strings.Index(line, "http://")
	if j := strings.Index(line, "https://"); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return "", false
	}
	s := line[i:]
	if end := strings.IndexAny(s, " \t\r\n()<>\"',;"); end >= 0 {
		s = s[:end]
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", false
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return "", false
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// child is a process bench started: the mock, the bare proxy or the
// gateway.
type child struct {
	name    string
	cmd     *exec.Cmd
	url     string
	out     *lineWatcher
	errTail *tailWriter
	done    chan struct{} // closed when the process has exited
	mu      sync.Mutex
	werr    error
	// group: the process leads a process group, ended whole (stop).
	group bool
}

// startupTimeout bounds how long a child may take to print its URL.
const startupTimeout = 15 * time.Second

// startChild runs exe with args in dir, with env added to bench's own
// environment, and waits until it prints on stdout a line containing marker
// (any line if marker is empty) with its URL. On failure the process is
// stopped and the error carries its stderr.
func startChild(ctx context.Context, name, exe string, args []string, dir, marker string, env []string) (*child, error) {
	c, err := startProcess(name, exe, args, dir, marker, env, false)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(startupTimeout)
	defer timer.Stop()
	select {
	case u := <-c.out.found:
		c.url = u
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s (%s) exited before listening: %v%s", name, strings.Join(c.cmd.Args, " "), c.exitErr(), c.stderrNote())
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("%s (%s) printed no URL within %v%s", name, strings.Join(c.cmd.Args, " "), startupTimeout, c.stderrNote())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// startProcess starts exe with args in dir, with env added to bench's own
// environment, its stdout watched for a URL on a line containing marker
// and its stderr's tail kept; it does not wait for anything. With group,
// the process leads a process group of its own, which stop ends whole:
// nginx's workers are its children, and the kernel's death signal
// (Pdeathsig) reaches only the master.
func startProcess(name, exe string, args []string, dir, marker string, env []string, group bool) (*child, error) {
	c := &child{
		group:   group,
		name:    name,
		out:     newLineWatcher(marker),
		errTail: &tailWriter{max: 8 << 10},
		done:    make(chan struct{}),
	}
	c.cmd = exec.Command(exe, args...)
	c.cmd.Dir = dir
	if len(env) > 0 {
		c.cmd.Env = append(os.Environ(), env...)
	}
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.errTail
	c.cmd.WaitDelay = 2 * time.Second
	setChildAttrs(c.cmd, group)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		err := c.cmd.Wait()
		c.mu.Lock()
		c.werr = err
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.werr
}

// exited reports whether the process has already ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) stderrNote() string {
	if s := strings.TrimSpace(c.errTail.String()); s != "" {
		return "; its stderr:\n" + s
	}
	return ""
}

// stop asks the process to shut down (interrupt), kills it if it has not
// exited after a grace period, and waits for it.
func (c *child) stop() {
	if c.group {
		// Whatever of the group outlives its leader (a leader killed,
		// or one that died first) goes too.
		defer killGroup(c.pid())
	}
	if c.exited() {
		return
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// lineWatcher is a child's stdout: it sends the first URL found on a line
// containing marker, and then discards the rest.
type lineWatcher struct {
	marker string
	found  chan string
	mu     sync.Mutex
	line   []byte
	sent   bool
}

func newLineWatcher(marker string) *lineWatcher {
	return &lineWatcher{marker: marker, found: make(chan string, 1)}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	rest := p
	for len(rest) > 0 && !w.sent {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(w.line) < 4096 {
				w.line = append(w.line, rest...)
			}
			break
		}
		w.line = append(w.line, rest[:i]...)
		rest = rest[i+1:]
		w.check()
		w.line = w.line[:0]
	}
	return len(p), nil
}

func (w *lineWatcher) check() {
	line := string(w.line)
	if w.marker != "" && !strings.Contains(line, w.marker) {
		return
	}
	if u, ok := ParseChildURL(line); ok {
		w.sent = true
		w.found <- u
	}
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// errNoRSS is returned where the peak RSS cannot be read.
var errNoRSS = errors.New("peak RSS is only available on Linux")
