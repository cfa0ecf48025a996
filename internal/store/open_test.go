package store_test

import (
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		key       []byte
		want      string // in the error
	}{
		{"unknown scheme", "mysql://root:hunter2@db/spillway", nil, "sqlite://relative/path.db"},
		{"no scheme", "spillway.db", nil, "postgres://"},
		{"sqlite without slashes", "sqlite:spillway.db", nil, "sqlite:///absolute/path.db"},
		{"sqlite memory", "sqlite://:memory:", nil, "in-memory SQLite is not supported"},
		{"sqlite memory uri", "sqlite://file::memory:", nil, "in-memory SQLite is not supported"},
		{"sqlite no path", "sqlite://", nil, "no path"},
		{"sqlite parameters", "sqlite://x.db?_pragma=journal_mode(DELETE)", nil, "parameters are not supported"},
		{"bad postgres url", "postgres://u:hunter2@host:notaport/db", nil, "postgres URL"},
		{"short secret key", "sqlite://x.db", make([]byte, 16), "16 bytes, want 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			st, err := store.Open(t.Context(), tc.url, store.Options{SecretKey: tc.key})
			if err == nil {
				st.Close()
				t.Fatalf("Open(%q): got nil error", tc.url)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) error = %q, want it to contain %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open(%q) error %q reveals the password", tc.url, err)
			}
		})
	}
}
