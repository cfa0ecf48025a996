// Package testenv decides, in one place, whether a test that needs
// something from outside Go runs, skips or fails: a PostgreSQL server, a
// Redis server, the redis-server program, Chromium, nginx.
//
// Each is looked for where DESIGN.md puts it on a development machine:
// the URL or path in its variable (SPILLWAY_TEST_POSTGRES,
// SPILLWAY_TEST_REDIS, SPILLWAY_CHROMIUM) when set, else its default
// (PostgreSQL on 127.0.0.1:5432, database test; Redis on 127.0.0.1:6379;
// chromium and redis-server on the PATH, nginx on it or in /usr/sbin). A server counts as there when
// its port accepts a connection. When it is not there the test skips,
// except under CI (see CI) or when its variable was set, where a skip
// would hide a broken setup: then the test fails and says why.
//
// `go test ./...` shows a skipped test's reason only with -v; `make test`
// first runs ./internal/testenv/report, which prints one line for each of
// them that is missing, from the same Lookup.
package testenv

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Service is something tests need from outside Go.
type Service struct {
	// Name is what messages call it.
	Name string
	// Env names the variable that says where it is.
	Env string
	// Default is where it is when Env is unset.
	Default string
	// Hint says how to provide it.
	Hint string

	find func(where string) (string, error)
	once sync.Once
	at   string
	err  error
}

// The services tests may need.
var (
	postgres = &Service{
		Name: "PostgreSQL", Env: "SPILLWAY_TEST_POSTGRES",
		Default: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		Hint:    "start it, or set SPILLWAY_TEST_POSTGRES to a postgres:// URL",
		find:    dialURL("5432", "postgres", "postgresql"),
	}
	redis = &Service{
		Name: "Redis", Env: "SPILLWAY_TEST_REDIS",
		Default: "redis://127.0.0.1:6379/0",
		Hint:    "start it, or set SPILLWAY_TEST_REDIS to a redis:// URL",
		find:    dialURL("6379", "redis"),
	}
	redisServer = &Service{
		Name: "redis-server", Default: "redis-server",
		Hint: "install it: apt-get install -y redis-server",
		find: lookPath,
	}
	chromium = &Service{
		Name: "Chromium", Env: "SPILLWAY_CHROMIUM", Default: chromiumDefault,
		Hint: "install it (apt-get install -y chromium), or set SPILLWAY_CHROMIUM to the browser's path",
		find: lookChromium,
	}
	nginx = &Service{
		Name: "nginx", Default: "nginx",
		Hint: "install it: apt-get install -y nginx-light",
		find: lookSbin,
	}
)

// Services returns every service tests may need, for the report.
func Services() []*Service { return []*Service{postgres, redis, redisServer, chromium, nginx} }

// CI reports whether the tests run under CI: the variable CI is set to
// anything but "", "0" or "false" (any case). Every CI service sets it,
// most to "true". Under CI nothing the tests need may be missing.
func CI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false":
		return false
	}
	return true
}

// Lookup returns where s is (a URL or a path), or why it is not
// available. It looks once per process.
func (s *Service) Lookup() (string, error) {
	s.once.Do(func() {
		where, set := s.where()
		s.at, s.err = s.find(where)
		if s.err != nil && set {
			s.err = fmt.Errorf("%s=%s: %w", s.Env, redacted(where), s.err)
		}
	})
	return s.at, s.err
}

// Required reports whether a test must fail, rather than skip, when s is
// missing: under CI, or when its variable names where it should be.
func (s *Service) Required() bool {
	_, set := s.where()
	return CI() || set
}

func (s *Service) where() (where string, set bool) {
	if s.Env != "" {
		if v := os.Getenv(s.Env); v != "" {
			return v, true
		}
	}
	return s.Default, false
}

// Need returns where s is, or ends tb: a skip, or a failure when s is
// Required.
func (s *Service) Need(tb testing.TB) string {
	tb.Helper()
	at, err := s.Lookup()
	if err == nil {
		return at
	}
	msg := s.Missing(err)
	if s.Required() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Missing is the one line that says s is not available and what follows.
func (s *Service) Missing(err error) string {
	what := "the tests that need it skip"
	if s.Required() {
		what = "the tests that need it fail"
		if CI() {
			what += " under CI"
		}
	}
	return fmt.Sprintf("testenv: %s not available (%v): %s; %s", s.Name, err, what, s.Hint)
}

// Postgres returns the URL of the test PostgreSQL server, or skips tb
// (fails under CI).
func Postgres(tb testing.TB) string {
	tb.Helper()
	return postgres.Need(tb)
}

// Redis returns the URL of the test Redis server, or skips tb (fails
// under CI).
func Redis(tb testing.TB) string {
	tb.Helper()
	return redis.Need(tb)
}

// RedisServer returns the path of the redis-server program, for tests
// that run a Redis of their own, or skips tb (fails under CI).
func RedisServer(tb testing.TB) string {
	tb.Helper()
	return redisServer.Need(tb)
}

// Chromium returns the path of the browser, or skips tb (fails under CI).
func Chromium(tb testing.TB) string {
	tb.Helper()
	return chromium.Need(tb)
}

const chromiumDefault = "chromium"

// Nginx returns the path of the nginx program, for the bench's nginx
// target, or skips tb (fails under CI).
func Nginx(tb testing.TB) string {
	tb.Helper()
	return nginx.Need(tb)
}

// dialTimeout bounds the look for a server: on this machine or the next
// it answers in a millisecond, or not at all.
const dialTimeout = 2 * time.Second

// dialURL checks a server URL: one of schemes, and a connection to its
// host and port (defaultPort when the URL has none) succeeds.
func dialURL(defaultPort string, schemes ...string) func(string) (string, error) {
	return func(raw string) (string, error) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("not a URL: %w", err)
		}
		if !containsFold(schemes, u.Scheme) {
			return "", fmt.Errorf("want a %s:// URL", schemes[0])
		}
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = defaultPort
		}
		addr := net.JoinHostPort(host, port)
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			return "", fmt.Errorf("nothing answers at %s", addr)
		}
		c.Close()
		return raw, nil
	}
}

// redacted is a URL without its password, fit for a log line.
func redacted(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found", name)
	}
	return p, nil
}

// lookSbin finds a program on the PATH or in /usr/sbin, where Debian
// puts daemons and a user's PATH often does not look.
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("/usr/sbin/" + name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin", name)
}

// lookChromium finds the browser: the configured one, or by default under
// the names Debian and others give it.
func lookChromium(name string) (string, error) {
	candidates := []string{name}
	if name == chromiumDefault {
		candidates = append(candidates, "/usr/bin/chromium", "chromium-browser")
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}
