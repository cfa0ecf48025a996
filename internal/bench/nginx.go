package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nginx is the floor for an L7 proxy: an event loop in C, one process per
// core. With --nginx, bench runs it as one more target in front of the
// same mock, configured as a production reverse proxy is: keep-alive
// connections to the upstream (a pool of its own per worker), HTTP/1.1 to
// it, no access log, and no response buffering, so it passes an SSE
// stream on as it comes, as the Go proxies do. Its CPU per request and its
// RSS are its master's and its workers' together (TreeCPU, TreeRSS). It
// leads a process group that Stop ends whole; a bench killed outright
// (SIGKILL) takes only the master with it (Pdeathsig), and its workers
// must then be ended by hand.

// NginxConfig is the nginx.conf of the nginx target: upstream is the
// mock's host:port, listen the address it serves on, dir where it keeps
// its pid file, error log and temporary files (none of them under /var).
func NginxConfig(upstream, listen, dir string) []byte {
	q := func(name string) string { return strconv.Quote(filepath.Join(dir, name)) }
	return fmt.Appendf(nil, `# written by spillway bench: nginx as a reverse proxy, the floor of an L7 proxy
daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 65536;
pid %s;
error_log %s warn;
events {
    worker_connections 32768;
}
http {
    access_log off;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    keepalive_requests 1000000;
    upstream mock {
        server %s;
        keepalive 256;
        keepalive_requests 1000000;
    }
    server {
        listen %s;
        location = %s {
            return 204;
        }
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
`, q("nginx.pid"), q("nginx-error.log"), q("client_body"), q("proxy"), q("fastcgi"), q("uwsgi"), q("scgi"),
		upstream, listen, nginxReadyPath)
}

// nginxReadyPath is where the nginx target answers 204 itself, for bench
// to know that what listens on its port is that nginx (waitNginx).
const nginxReadyPath = "/_bench/nginx"

// startNginx starts nginx (the binary at exe) in front of upstream and
// waits until it accepts connections.
func (s *Spawned) startNginx(ctx context.Context, exe, upstream string) error {
	u, err := ParseUpstream(upstream)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("--nginx needs the mock on plain HTTP")
	}
	listen, err := freePort()
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "nginx.conf")
	if err := os.WriteFile(path, NginxConfig(u.Host, listen, s.dir), 0o600); err != nil {
		return err
	}
	// -e: nginx opens its built-in error log before it reads the config;
	// point it at the run's own directory too.
	c, err := startProcess("nginx", exe, []string{"-c", path, "-p", s.dir, "-e", filepath.Join(s.dir, "nginx-error.log")}, s.dir, "", s.env, true)
	if err != nil {
		return err
	}
	s.children = append(s.children, c)
	c.url = "http://" + listen
	if err := waitNginx(ctx, c, listen); err != nil {
		return fmt.Errorf("nginx: %w%s", err, c.stderrNote())
	}
	fmt.Fprintf(s.log, "bench: started nginx (pid %d) at %s\n", c.pid(), c.url)
	s.Nginx, s.NginxPID = c.url, c.pid()
	return nil
}

// freePort returns a loopback address no one listens on at the moment:
// nginx cannot listen on port 0 and say which port it got.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// waitNginx waits until the nginx target c answers on addr, c exits, or
// startupTimeout passes. The port was free a moment before nginx was
// started, but anyone may have taken it since, nginx then failing to
// bind it: it is c's only once c itself answers, 204 from nginx at
// nginxReadyPath.
func waitNginx(ctx context.Context, c *child, addr string) error {
	deadline := time.Now().Add(startupTimeout)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		resp, err := client.Get("http://" + addr + nginxReadyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent && strings.HasPrefix(resp.Header.Get("Server"), "nginx") {
				return nil
			}
		}
		if c.exited() {
			return fmt.Errorf("exited before listening: %v", c.exitErr())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, startupTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// LookNginx finds the nginx binary for --nginx: name as a path, or looked
// up in PATH and then in /usr/sbin, where Debian puts it.
func LookNginx(name string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) {
		return exec.LookPath(name) // an executable file, or why not
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath(filepath.Join("/usr/sbin", name)); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not in PATH or /usr/sbin (Debian: apt-get install nginx-light)", name)
}
