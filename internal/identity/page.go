package identity

import (
	"html"
	"net/http"
	"strings"
)

// The pages here are small and built by hand, every value escaped with
// html.EscapeString: html/template would link its reflection into the
// binary, which web/compiled.go goes out of its way to avoid. They have
// no script and load only the portal's stylesheet.

const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// writePage writes a page with title and body (already HTML).
func writePage(w http.ResponseWriter, status int, title, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`: Spillway</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="admin"><main id="main"><section class="card narrow">
`)
	b.WriteString(body)
	b.WriteString("\n</section></main></body></html>\n")
	_, _ = w.Write([]byte(b.String()))
}

// refuse writes a page that says why a sign-in did not work.
func (s *Service) refuse(w http.ResponseWriter, _ *http.Request, status int, title, reason string) {
	writePage(w, status, title, `<h1 id="refused-title">`+html.EscapeString(title)+`</h1>
<p id="refused-reason" role="alert">`+html.EscapeString(reason)+`</p>
<p><a href="/admin/">Back to the sign-in page</a></p>`)
}
