package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestReadmeConfigsPassCheck runs `spillway check` on every YAML block of
// the README, with the environment variables they reference set, so the
// examples a reader copies stay valid.
func TestReadmeConfigsPassCheck(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml blocks in README.md")
	}
	for _, m := range regexp.MustCompile(`os\.environ/([A-Z0-9_]+)`).FindAllSubmatch(readme, -1) {
		t.Setenv(string(m[1]), "sk-readme-"+string(m[1]))
	}
	dir := t.TempDir()
	for i, b := range blocks {
		path := filepath.Join(dir, "readme-"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(path, b[1], 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"check", path}, &out, &errOut); code != 0 {
			t.Errorf("README yaml block %d: check exit code %d, want 0:\n%s%s\n%s", i+1, code, out.String(), errOut.String(), b[1])
		}
	}
}
