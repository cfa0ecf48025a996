package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// assets serves the embedded static files. Pages link them with a
// ?v=CONTENT-HASH query, so a browser may keep a file for long: a new
// release changes the hash and so the URL.
type assets struct {
	files map[string]asset
}

type asset struct {
	body    []byte
	version string // the first 12 hex digits of the content's SHA-256
}

// assetMaxAge is how long a browser keeps a versioned file.
const assetMaxAge = "public, max-age=31536000, immutable"

func newAssets(fsys fs.FS) *assets {
	a := &assets{files: map[string]asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.files[p] = asset{body: b, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		panic(err) // embedded files: a broken build, not a runtime state
	}
	return a
}

// url is the template func "asset": the versioned URL of a static file.
// An unknown name is a template bug; it renders as a link that 404s.
func (a *assets) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + f.version
}

// ServeHTTP serves one file, with a long cache lifetime when the URL
// names its current version and revalidation otherwise.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == f.version {
		w.Header().Set("Cache-Control", assetMaxAge)
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+f.version+`"`)
	http.ServeContent(w, r, path.Base(r.URL.Path), time.Time{}, bytes.NewReader(f.body))
}
