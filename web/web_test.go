package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

const testToken = "sk-admin-test"

// newTest returns a handler whose clock the test moves.
func newTest(t *testing.T) (*Handler, *time.Time) {
	t.Helper()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h := New(Options{
		Token:      func(p string) bool { return p == testToken },
		SessionKey: func() []byte { return []byte("0123456789abcdef0123456789abcdef") },
		SessionTTL: time.Hour,
		Now:        func() time.Time { return now },
	})
	return h, &now
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// login signs in and returns the session cookie.
func login(t *testing.T, h *Handler) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"token": {testToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	w := serve(h, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303; body %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func TestSecurityHeaders(t *testing.T) {
	h, _ := newTest(t)
	for _, path := range []string{"/", "/admin/", "/static/style.css", "/static/missing.js"} {
		w := serve(h, httptest.NewRequest(http.MethodGet, path, nil))
		for header, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := w.Header().Get(header); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, header, got, want)
			}
		}
	}
	for _, directive := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
		if !strings.Contains(contentSecurityPolicy, directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	if strings.Contains(contentSecurityPolicy, "unsafe-inline") || strings.Contains(contentSecurityPolicy, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %s", contentSecurityPolicy)
	}
}

// TestPagesHaveNoInlineCode: each page is served (200, and the page
// asked for: the portal with a session, not the sign-in form again), and
// every script and style in it is a file of this origin, as the CSP
// demands: no inline script of any form, no event-handler attribute, no
// javascript: URL, no style element or attribute, nothing loaded from
// elsewhere. TestInlineCode shows the finder finds each of those.
func TestPagesHaveNoInlineCode(t *testing.T) {
	h, _ := newTest(t)
	c := login(t, h)
	// Each page's mark is an element only it has.
	marks := map[string]string{"playground": "signin-form", "login": "login-form", "portal": "tab-deployments"}
	for _, tt := range []struct {
		name, path string
		session    bool
	}{
		{"playground", "/", false},
		{"login", "/admin/", false},
		{"portal", "/admin/", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.session {
				r.AddCookie(c)
			}
			w := serve(h, r)
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: status %d, Content-Type %q; want 200 and HTML", tt.path, w.Code, w.Header().Get("Content-Type"))
			}
			problems, ids := inlineCode(w.Body.String())
			for page, mark := range marks {
				if got, want := ids[mark], page == tt.name; got != want {
					t.Errorf("GET %s: element #%s present %v, want %v: this is not the %s page", tt.path, mark, got, want, tt.name)
				}
			}
			if !ids["main"] {
				t.Errorf("GET %s: no #main: not a whole page", tt.path)
			}
			for _, p := range problems {
				t.Errorf("GET %s: %s", tt.path, p)
			}
		})
	}
}

// TestInlineCode: inlineCode finds inline code in each form a browser
// would run or apply it, and nothing in a page made only of files.
func TestInlineCode(t *testing.T) {
	for _, tt := range []struct{ name, html string }{
		{"script", `<script>alert(1)</script>`},
		{"script with attributes", `<script type="module" nonce="abc">alert(1)</script>`},
		{"upper-case script", `<SCRIPT>alert(1)</SCRIPT>`},
		{"script with src and a body", `<script src="/static/a.js">alert(1)</script>`},
		{"script from elsewhere", `<script src="https://cdn.example/a.js"></script>`},
		{"script from a scheme-relative URL", `<script src="//cdn.example/a.js"></script>`},
		{"script from a data URL", `<script src="data:text/javascript,alert(1)"></script>`},
		{"handler", `<img src="/x.png" onerror="alert(1)">`},
		{"unquoted handler", `<body onload=alert(1)>`},
		{"upper-case handler", `<div ONCLICK='alert(1)'>x</div>`},
		{"javascript link", `<a href="javascript:alert(1)">x</a>`},
		{"javascript link, mixed case and spaces", `<a href="  JaVaScRiPt:alert(1)">x</a>`},
		{"javascript link with an escaped tab", `<a href="java&#09;script:alert(1)">x</a>`},
		{"javascript form action", `<form action="javascript:alert(1)"></form>`},
		{"javascript formaction", `<button formaction="javascript:alert(1)">x</button>`},
		{"javascript refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`},
		{"srcdoc", `<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>`},
		{"style element", `<style>body{color:red}</style>`},
		{"style attribute", `<p style="color:red">x</p>`},
		{"stylesheet from elsewhere", `<link rel="stylesheet" href="https://cdn.example/a.css">`},
	} {
		if problems, _ := inlineCode(tt.html); len(problems) == 0 {
			t.Errorf("%s: %s: nothing found", tt.name, tt.html)
		}
	}
	clean := `<!doctype html><html><head><link rel="stylesheet" href="/static/style.css?v=1"></head>` +
		`<body><main id="main"><a href="/admin/">Admin</a><button type="button" id="go">Go</button></main>` +
		`<script src="/static/common.js?v=2"></script></body></html>`
	if problems, ids := inlineCode(clean); len(problems) > 0 || !ids["main"] || !ids["go"] {
		t.Errorf("a page of files only: problems %q, ids %v; want none, and main and go", problems, ids)
	}
}

// inlineCode parses an HTML page and returns every place where it runs or
// styles anything but a file of this origin, and the ids of its elements.
func inlineCode(page string) (problems []string, ids map[string]bool) {
	ids = map[string]bool{}
	z := html.NewTokenizer(strings.NewReader(page))
	inScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				problems = append(problems, "unparsable HTML: "+err.Error())
			}
			return problems, ids
		case html.TextToken:
			if inScript && strings.TrimSpace(string(z.Text())) != "" {
				problems = append(problems, "inline script: "+strings.TrimSpace(string(z.Text())))
			}
		case html.EndTagToken:
			inScript = false
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			tag := tok.Data
			src := ""
			for _, a := range tok.Attr {
				key, val := strings.ToLower(a.Key), a.Val
				switch {
				case key == "id":
					ids[val] = true
				case strings.HasPrefix(key, "on"):
					problems = append(problems, fmt.Sprintf("<%s %s=%q>: an event handler", tag, key, val))
				case key == "style" || key == "srcdoc":
					problems = append(problems, fmt.Sprintf("<%s %s=%q>: inline markup or style", tag, key, val))
				case key == "src":
					src = val
				}
				if strings.Contains(normalURL(val), "javascript:") {
					problems = append(problems, fmt.Sprintf("<%s %s=%q>: a javascript: URL", tag, key, val))
				}
				if (key == "src" || key == "href") && !ownFile(val) && !strings.HasPrefix(val, "#") && !strings.HasPrefix(normalURL(val), "javascript:") {
					problems = append(problems, fmt.Sprintf("<%s %s=%q>: not a file of this origin", tag, key, val))
				}
			}
			switch tag {
			case "style":
				problems = append(problems, "<style>: an inline style sheet")
			case "script":
				if src == "" {
					problems = append(problems, "<script> without src")
				}
				inScript = tok.Type == html.StartTagToken
			}
		}
	}
}

// normalURL is a URL as a browser reads its scheme: without tabs and
// newlines, surrounding spaces and controls, in lower case.
func normalURL(u string) string {
	u = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(u)
	return strings.ToLower(strings.TrimFunc(u, func(r rune) bool { return r <= ' ' }))
}

// ownFile reports whether a src or href names a path on this origin.
func ownFile(u string) bool {
	return strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")
}

func TestAssetsCache(t *testing.T) {
	h, _ := newTest(t)
	versioned := h.assets.url("playground.js")
	if !strings.Contains(versioned, "?v=") {
		t.Fatalf("asset URL %q has no version", versioned)
	}
	for _, tc := range []struct {
		path, cache string
		status      int
	}{
		{versioned, assetMaxAge, http.StatusOK},
		{"/static/playground.js", "no-cache", http.StatusOK},
		{"/static/playground.js?v=old", "no-cache", http.StatusOK},
		{"/static/nope.js", "", http.StatusNotFound},
	} {
		w := serve(h, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.status || w.Header().Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s: %d, Cache-Control %q; want %d, %q", tc.path, w.Code, w.Header().Get("Cache-Control"), tc.status, tc.cache)
		}
	}
	r := httptest.NewRequest(http.MethodGet, versioned, nil)
	r.Header.Set("If-None-Match", `"`+h.assets.files["playground.js"].version+`"`)
	if w := serve(h, r); w.Code != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", w.Code)
	}
}

func TestLogin(t *testing.T) {
	h, _ := newTest(t)
	for _, tc := range []struct {
		name, token, site string
		want              int
	}{
		{"right token", testToken, "same-origin", http.StatusSeeOther},
		{"wrong token", "nope", "same-origin", http.StatusUnauthorized},
		{"empty token", "", "same-origin", http.StatusUnauthorized},
		{"cross-site form", testToken, "cross-site", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"token": {tc.token}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", tc.site)
			w := serve(h, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			cookies := w.Result().Cookies()
			if tc.want != http.StatusSeeOther {
				if len(cookies) != 0 {
					t.Errorf("a failed sign-in set cookies %v", cookies)
				}
				return
			}
			c := cookies[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.MaxAge != 3600 {
				t.Errorf("cookie %+v; want HttpOnly, SameSite=Strict, Path=/admin, MaxAge=3600", c)
			}
			if strings.Contains(c.Value, testToken) {
				t.Error("the cookie carries the admin token")
			}
		})
	}
	// Over TLS (here: behind a proxy that says so) the cookie is Secure.
	r := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader("token="+testToken))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-Proto", "https")
	if c := serve(h, r).Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookies over TLS = %v, want one Secure cookie", c)
	}
}

// TestSession: the portal page and the admin API accept a valid session;
// a state-changing call also needs the session's CSRF token.
func TestSession(t *testing.T) {
	h, now := newTest(t)
	c := login(t, h)
	csrf := h.sessions.csrf(c.Value)
	tampered := *c
	tampered.Value = strings.Replace(c.Value, c.Value[:4], "9999", 1)

	for _, tc := range []struct {
		name   string
		method string
		cookie *http.Cookie
		csrf   string
		want   bool
	}{
		{"GET with session", http.MethodGet, c, "", true},
		{"GET without cookie", http.MethodGet, nil, "", false},
		{"GET with tampered cookie", http.MethodGet, &tampered, "", false},
		{"POST with session and CSRF", http.MethodPost, c, csrf, true},
		{"POST without CSRF", http.MethodPost, c, "", false},
		{"POST with wrong CSRF", http.MethodPost, c, csrf + "x", false},
		{"PATCH without CSRF", http.MethodPatch, c, "", false},
		{"DELETE with CSRF", http.MethodDelete, c, csrf, true},
		{"POST with CSRF but no cookie", http.MethodPost, nil, csrf, false},
	} {
		r := httptest.NewRequest(tc.method, "/admin/v1/deployments", nil)
		if tc.cookie != nil {
			r.AddCookie(tc.cookie)
		}
		if tc.csrf != "" {
			r.Header.Set(csrfHeader, tc.csrf)
		}
		if got := h.Session(r); got != tc.want {
			t.Errorf("%s: Session = %v, want %v", tc.name, got, tc.want)
		}
	}

	r := httptest.NewRequest(http.MethodGet, "/admin/", nil)
	r.AddCookie(c)
	body := serve(h, r).Body.String()
	if !strings.Contains(body, `<meta name="csrf-token" content="`+csrf+`">`) {
		t.Error("the portal page does not carry the session's CSRF token")
	}

	*now = now.Add(time.Hour + time.Second)
	r = httptest.NewRequest(http.MethodGet, "/admin/v1/deployments", nil)
	r.AddCookie(c)
	if h.Session(r) {
		t.Error("an expired session is accepted")
	}
}

// TestSessionKeyChange: a new key (the admin token was rotated) ends
// every session.
func TestSessionKeyChange(t *testing.T) {
	key := []byte("first-key-first-key-first-key-00")
	h := New(Options{Token: func(p string) bool { return p == testToken }, SessionKey: func() []byte { return key }})
	c := login(t, h)
	r := httptest.NewRequest(http.MethodGet, "/admin/v1/routing", nil)
	r.AddCookie(c)
	if !h.Session(r) {
		t.Fatal("fresh session refused")
	}
	key = []byte("second-key-second-key-second-key")
	if h.Session(r) {
		t.Error("a session signed with the old key is accepted")
	}
	noKey := New(Options{Token: func(string) bool { return true }})
	if v := noKey.sessions.issue(); v != "" {
		t.Errorf("sessions without a key issued %q", v)
	}
}

func TestLogout(t *testing.T) {
	h, _ := newTest(t)
	c := login(t, h)
	post := func(csrf string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/admin/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(c)
		return serve(h, r)
	}
	if w := post("wrong"); w.Code != http.StatusForbidden {
		t.Errorf("logout with a wrong CSRF token: status %d, want 403", w.Code)
	}
	w := post(h.sessions.csrf(c.Value))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("logout: status %d, want 303", w.Code)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout cookies = %v, want the session cookie deleted", cs)
	}
}

// TestMarkdownXSS: an event description is markdown; HTML in it shows as
// text, and dangerous links lose their target.
func TestMarkdownXSS(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
		never     []string
	}{
		{"script block", "<script>alert(1)</script>", []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script"}},
		{"inline html", "hello <img src=x onerror=alert(1)> there", []string{"&lt;img src=x onerror=alert(1)&gt;"}, []string{"<img"}},
		{"javascript link", "[click](javascript:alert(1))", []string{"click"}, []string{"javascript:"}},
		{"markdown still works", "**bold** and [site](https://example.com)", []string{"<strong>bold</strong>", `<a href="https://example.com">site</a>`}, nil},
		{"iframe block", "<iframe src=https://evil.example></iframe>\n\ntext", []string{"&lt;iframe"}, []string{"<iframe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderMarkdown([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("render(%q) = %q, want it to contain %q", tc.src, out, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(string(out), n) {
					t.Errorf("render(%q) = %q, must not contain %q", tc.src, out, n)
				}
			}
		})
	}
	h, _ := newTest(t)
	r := httptest.NewRequest(http.MethodPost, "/ui/markdown", strings.NewReader(strings.Repeat("a", maxMarkdown+1)))
	if w := serve(h, r); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized description: status %d, want 413", w.Code)
	}
	r = httptest.NewRequest(http.MethodPost, "/ui/markdown", strings.NewReader("<script>x</script>"))
	w := serve(h, r)
	b, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusOK || strings.Contains(string(b), "<script") {
		t.Errorf("POST /ui/markdown: %d %q", w.Code, b)
	}
}

// TestPatterns: the patterns the server registers are exactly the routes
// this handler serves, and they leave the data plane's and the
// management API's paths alone.
func TestPatterns(t *testing.T) {
	mux := http.NewServeMux()
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	mux.Handle("/", other)
	mux.Handle("/admin/", other)
	h, _ := newTest(t)
	for _, p := range Patterns {
		mux.Handle(p, h)
	}
	for _, tc := range []struct {
		method, path string
		web          bool
	}{
		{"GET", "/", true},
		{"GET", "/static/style.css", true},
		{"GET", "/admin", true},
		{"GET", "/admin/", true},
		{"POST", "/admin/login", true},
		{"POST", "/", false},
		{"GET", "/v1/models", false},
		{"POST", "/v1/chat/completions", false},
		{"GET", "/admin/v1/deployments", false},
		{"POST", "/admin/v1/deployments", false},
		{"GET", "/admin/v1/usage", false},
		{"GET", "/openai/deployments/gpt-4o/chat/completions", false},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		_, pattern := mux.Handler(r)
		isWeb := false
		for _, p := range Patterns {
			if p == pattern {
				isWeb = true
			}
		}
		if isWeb != tc.web {
			t.Errorf("%s %s matched %q; web = %v, want %v", tc.method, tc.path, pattern, isWeb, tc.web)
		}
	}
}
