package identity

import (
	"html/template"
	"net/http"
)

// refusedPage says why a sign-in did not work. It has no script and loads
// only the portal's stylesheet.
var refusedPage = template.Must(template.New("refused").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: Spillway admin</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="admin"><main id="main"><section class="card narrow">
<h1 id="refused-title">{{.Title}}</h1>
<p id="refused-reason" role="alert">{{.Reason}}</p>
<p><a href="/admin/">Back to the sign-in page</a></p>
</section></main></body></html>
`))

func (s *Service) refuse(w http.ResponseWriter, r *http.Request, status int, title, reason string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := refusedPage.Execute(w, struct{ Title, Reason string }{title, reason}); err != nil {
		s.log.ErrorContext(r.Context(), "refused page", "err", err)
	}
}
