package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredFiles: every script under static/vendor is the one its
// README records (name, version, licence and SHA-256), unchanged, with its
// licence beside it.
func TestVendoredFiles(t *testing.T) {
	readme, err := fs.ReadFile(staticFS, "static/vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([0-9a-f]{64})  (\S+)$`).FindAllStringSubmatch(string(readme), -1) {
		sums[m[2]] = m[1]
	}
	scripts, err := fs.Glob(staticFS, "static/vendor/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no vendored scripts: %v", err)
	}
	for _, p := range scripts {
		name := path.Base(p)
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got, want := hex.EncodeToString(sum[:]), sums[name]; got != want {
			t.Errorf("%s: SHA-256 %s, README records %q", name, got, want)
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("%s: not in the README's table", name)
		}
		licence := "static/vendor/" + strings.SplitN(name, ".", 2)[0] + ".LICENSE"
		if _, err := fs.Stat(staticFS, licence); err != nil {
			t.Errorf("%s: no licence file: %v", name, err)
		}
	}
	if len(sums) != len(scripts) {
		t.Errorf("README records %d files, static/vendor has %d scripts", len(sums), len(scripts))
	}
}
