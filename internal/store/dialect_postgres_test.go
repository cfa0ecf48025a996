package store

import (
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/testenv"
)

func TestPostgresSessionDefaults(t *testing.T) {
	base := testenv.Postgres(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name, url, want string
	}{
		{"the store's default", base, "off"},
		{"the URL's setting wins", base + sep + "jit=on", "on"},
	} {
		db, err := openPostgres(t.Context(), tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got string
		err = db.QueryRowContext(t.Context(), "SHOW jit").Scan(&got)
		db.Close()
		if err != nil {
			t.Fatalf("%s: SHOW jit: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: jit = %q, want %q", tc.name, got, tc.want)
		}
	}
}
