package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// page is what every template gets. Its fields are strings only (see
// compiled.go); pages_gen.go lists them in page.fields.
type page struct {
	Title string
	// CSRF is the portal session's CSRF token; empty elsewhere.
	CSRF string
	// Error is a message for the sign-in form.
	Error string
}

// render writes a template, buffered so that a template error becomes a
// clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	buf, ok := h.appendPage(make([]byte, 0, 8<<10), name, &p)
	if !ok {
		h.log.ErrorContext(r.Context(), "web: no such page", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

// playground serves GET /. Everything after the page shell happens in the
// browser, which keeps the key in sessionStorage.
func (h *Handler) playground(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "playground.html", page{Title: "Spillway playground"})
}

// portal serves GET /admin/: the sign-in form, or the portal with its
// session's CSRF token.
func (h *Handler) portal(w http.ResponseWriter, r *http.Request) {
	if h.identity != nil {
		if csrf, ok := h.identity.CSRF(r); ok {
			h.render(w, r, http.StatusOK, "admin.html", page{Title: "Spillway admin", CSRF: csrf})
			return
		}
	}
	v, ok := h.sessions.fromRequest(r)
	if !ok {
		h.render(w, r, http.StatusOK, "login.html", h.loginPage(""))
		return
	}
	h.render(w, r, http.StatusOK, "admin.html", page{Title: "Spillway admin", CSRF: h.sessions.csrf(v)})
}

// login serves POST /admin/login: a right token gets a session cookie and
// goes to the portal; a wrong one sees the form again.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	token := r.PostFormValue("token")
	if h.token == nil || !h.token(token) {
		h.auditSignIn(r, "signin_failed", http.StatusUnauthorized)
		h.render(w, r, http.StatusUnauthorized, "login.html", h.loginPage("That is not the admin token."))
		return
	}
	if h.identity != nil {
		if err := h.identity.SignInWithToken(w, r); err != nil {
			h.log.ErrorContext(r.Context(), "portal session not stored", "err", err)
			h.render(w, r, http.StatusServiceUnavailable, "login.html", h.loginPage("The session could not be stored; try again. The gateway log has the details."))
			return
		}
		h.auditSignIn(r, "signin", http.StatusOK)
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	v := h.sessions.issue()
	if v == "" {
		h.render(w, r, http.StatusServiceUnavailable, "login.html", h.loginPage("Sessions are not available: the gateway has no admin token hash loaded."))
		return
	}
	h.auditSignIn(r, "signin", http.StatusOK)
	http.SetCookie(w, sessionCookieFor(r, v, h.sessions.ttl))
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// logout serves POST /admin/logout. The form carries the CSRF token, so a
// foreign page cannot sign the admin out either.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	// A session from a sign-in with a provider ends in the store, so on
	// every replica.
	if h.identity != nil {
		if _, ok := h.identity.CSRF(r); ok {
			if !h.identity.SignOut(w, r, r.PostFormValue("csrf")) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/admin/", http.StatusSeeOther)
			return
		}
	}
	if v, ok := h.sessions.fromRequest(r); ok && !h.sessions.csrfOK(v, r.PostFormValue("csrf")) {
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	http.SetCookie(w, sessionCookieFor(r, "", -time.Second))
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// loginPage is the sign-in page: the admin token form; login.js adds a
// button per identity provider from GET /admin/providers.
func (h *Handler) loginPage(msg string) page {
	return page{Title: "Spillway admin: sign in", Error: msg}
}

// providers serves GET /admin/providers: the "Sign in with ..." buttons,
// as JSON for login.js (pages hold strings only, see compiled.go).
func (h *Handler) providers(w http.ResponseWriter, _ *http.Request) {
	type link struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	out := []link{}
	if h.identity != nil {
		for _, l := range h.identity.Links() {
			out = append(out, link(l))
		}
	}
	b, _ := json.Marshal(map[string]any{"data": out})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (h *Handler) auditSignIn(r *http.Request, action string, status int) {
	if h.audit != nil {
		h.audit(r, action, status)
	}
}
