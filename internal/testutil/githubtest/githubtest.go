// Package githubtest emulates what Spillway uses of GitHub: the OAuth web
// flow (/login/oauth/authorize, /login/oauth/access_token, with PKCE when
// the client sends a challenge) and the REST API's /user, /user/emails,
// /user/orgs and /user/teams under /api/v3, as GitHub Enterprise Server
// lays them out. The person signed in is whoever the test set with
// SetUser; consent is implied.
package githubtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
)

// User is a GitHub account and its memberships.
type User struct {
	ID    int64
	Login string
	Name  string
	// Email is the primary email; Verified says whether GitHub verified it.
	Email    string
	Verified bool
	Orgs     []string
	// Teams are "org/team-slug".
	Teams []string
}

// Server is a running emulator.
type Server struct {
	*httptest.Server
	clientID, clientSecret string

	mu     sync.Mutex
	user   User
	codes  map[string]code
	tokens map[string]User
}

type code struct {
	redirectURI, challenge string
	user                   User
}

// New starts an emulator for one OAuth app; Close stops it.
func New(clientID, clientSecret string) *Server {
	s := &Server{clientID: clientID, clientSecret: clientSecret, codes: map[string]code{}, tokens: map[string]User{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /api/v3/user", s.api(func(u User) any {
		return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name, "email": u.Email}
	}))
	mux.HandleFunc("GET /api/v3/user/emails", s.api(func(u User) any {
		return []map[string]any{{"email": u.Email, "primary": true, "verified": u.Verified, "visibility": "private"}}
	}))
	mux.HandleFunc("GET /api/v3/user/orgs", s.api(func(u User) any {
		out := []map[string]any{}
		for _, o := range u.Orgs {
			out = append(out, map[string]any{"login": o})
		}
		return out
	}))
	mux.HandleFunc("GET /api/v3/user/teams", s.api(func(u User) any {
		out := []map[string]any{}
		for _, t := range u.Teams {
			org, slug, _ := strings.Cut(t, "/")
			out = append(out, map[string]any{"slug": slug, "organization": map[string]any{"login": org}})
		}
		return out
	}))
	s.Server = httptest.NewServer(mux)
	return s
}

// APIURL is the REST API's base URL.
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// SetUser sets who is signed in at GitHub.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.clientID {
		http.Error(w, "The client_id is not known", http.StatusNotFound)
		return
	}
	if q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256" {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	c := random()
	s.mu.Lock()
	s.codes[c] = code{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), user: s.user}
	s.mu.Unlock()
	v := redirect.Query()
	v.Set("code", c)
	v.Set("state", q.Get("state"))
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// accessToken answers as GitHub does: 200 with an error field on a bad
// code, JSON when asked for, form-encoded otherwise.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	answer := func(v url.Values) {
		if strings.Contains(r.Header.Get("Accept"), "json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = w.Write([]byte(v.Encode()))
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != s.clientID || secret != s.clientSecret {
		answer(url.Values{"error": {"incorrect_client_credentials"}})
		return
	}
	s.mu.Lock()
	c, ok := s.codes[r.PostForm.Get("code")]
	delete(s.codes, r.PostForm.Get("code"))
	s.mu.Unlock()
	if !ok || c.redirectURI != r.PostForm.Get("redirect_uri") {
		answer(url.Values{"error": {"bad_verification_code"}})
		return
	}
	if c.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			answer(url.Values{"error": {"invalid_grant"}, "error_description": {"code_verifier does not match"}})
			return
		}
	}
	tok := "gho_" + random()
	s.mu.Lock()
	s.tokens[tok] = c.user
	s.mu.Unlock()
	answer(url.Values{"access_token": {tok}, "token_type": {"bearer"}, "scope": {"read:org,user:email"}})
}

func (s *Server) api(view func(User) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			tok, _ = strings.CutPrefix(auth, "token ")
		}
		s.mu.Lock()
		u, found := s.tokens[tok]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(view(u))
	}
}

func random() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
