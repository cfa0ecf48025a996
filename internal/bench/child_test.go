package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/mock"
)

func TestParseChildURL(t *testing.T) {
	tests := []struct {
		line   string
		want   string
		wantOK bool
	}{
		{"spillway: serving on http://127.0.0.1:4000 (1 deployments, 1 client keys)", "http://127.0.0.1:4000", true},
		{"http://127.0.0.1:39021", "http://127.0.0.1:39021", true},
		{"http://127.0.0.1:39021/", "http://127.0.0.1:39021", true},
		{"mock: listening on http://127.0.0.1:39021/openai (azure)", "http://127.0.0.1:39021", true},
		{"spillway bench: bare proxy on http://127.0.0.1:5555 -> http://127.0.0.1:6666", "http://127.0.0.1:5555", true},
		{"listening at https://localhost:8443, ready", "https://localhost:8443", true},
		{"  http://[::1]:8080\r", "http://[::1]:8080", true},
		{"upstream \"http://127.0.0.1:9000\"", "http://127.0.0.1:9000", true},
		{"no url here", "", false},
		{"", "", false},
		{"http://127.0.0.1:0", "", false},
		{"http://127.0.0.1", "", false},
		{"http://:8080", "", false},
		{"http://", "", false},
		{"http://127.0.0.1:99999", "", false},
		{"ftp://127.0.0.1:21", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseChildURL(tt.line)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseChildURL(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestLineWatcher(t *testing.T) {
	tests := []struct {
		name   string
		marker string
		writes []string
		want   string // "" = nothing found
	}{
		{"one line", "", []string{"http://127.0.0.1:1234\n"}, "http://127.0.0.1:1234"},
		{"split across writes", "", []string{"serving on http://127.0", ".0.1:12", "34 (x)\nmore\n"}, "http://127.0.0.1:1234"},
		{"line without newline yet", "", []string{"http://127.0.0.1:1234"}, ""},
		{"marker skips other URLs", "serving on", []string{"admin at http://127.0.0.1:1/admin\nspillway: serving on http://127.0.0.1:2 (1)\n"}, "http://127.0.0.1:2"},
		{"first URL wins", "", []string{"http://127.0.0.1:1\nhttp://127.0.0.1:2\n"}, "http://127.0.0.1:1"},
		{"no URL", "", []string{"starting\nready\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLineWatcher(tt.marker)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
				}
			}
			var got string
			select {
			case got = <-w.found:
			default:
			}
			if got != tt.want {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		_, _ = w.Write([]byte(s))
	}
	if got, want := w.String(), "defgh"; got != want {
		t.Errorf("tailWriter: got %q, want %q", got, want)
	}
}

// TestChildProcess starts the bare proxy as a real process (this test binary
// acting as spillway, see TestMain), uses it, and stops it.
func TestChildProcess(t *testing.T) {
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	t.Setenv(fakeSpillwayEnv, "1")
	c, err := startChild(context.Background(), "bare proxy", testExe(t), []string{"bench", "--proxy-only", "--upstream", up.URL, "--listen", "127.0.0.1:0"}, t.TempDir(), "bare proxy on", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	body := strings.NewReader(string(RequestBody("gpt-4o", 4, false, "")))
	resp, err := http.Post(c.url+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("through the child proxy: got status %d, want 200", resp.StatusCode)
	}
	c.stop()
	if !c.exited() {
		t.Errorf("after stop: the child (pid %d) is still running", c.pid())
	}
}

func TestChildThatNeverPrintsAURL(t *testing.T) {
	t.Setenv(fakeSpillwayEnv, "1")
	_, err := startChild(context.Background(), "broken", testExe(t), []string{"fail-loudly"}, t.TempDir(), "", nil)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "no such fake command") {
		t.Errorf("startChild of a child that exits: got %v, want an error naming the exit and quoting its stderr", err)
	}
}

func TestChildCancelled(t *testing.T) {
	t.Setenv(fakeSpillwayEnv, "1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := startChild(ctx, "silent", testExe(t), []string{"silent"}, t.TempDir(), "", nil)
	if err != context.Canceled {
		t.Errorf("startChild with a cancelled context: got %v, want context.Canceled", err)
	}
}
