// Package oidctest is a small but real OpenID Connect provider for tests:
// discovery, a JWKS with an RS256 key, an authorization endpoint that
// checks the client, redirect URI and PKCE S256 challenge, and a token
// endpoint that checks the code verifier and issues signed ID tokens with
// iss, sub, aud, exp, iat and nonce. The person "signed in" at the
// provider is whoever the test set with SetUser; consent is implied.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// User is the person signed in at the provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// Options configure a Provider.
type Options struct {
	ClientID, ClientSecret string
	// Now is the provider's clock for iat and exp. Default time.Now.
	Now func() time.Time
	// TokenTTL is the ID tokens' lifetime. Default 5m.
	TokenTTL time.Duration
}

// Provider is a running OIDC provider.
type Provider struct {
	*httptest.Server
	opts Options
	key  *rsa.PrivateKey
	kid  string

	mu    sync.Mutex
	user  User
	codes map[string]grant
	// issuer overrides the iss claim, to test a wrong issuer.
	issuer string
	// lastIDToken is the last ID token issued, to test a replay.
	lastIDToken string
	// replay makes the token endpoint answer with lastIDToken.
	replay bool
}

type grant struct {
	clientID, redirectURI, challenge, nonce string
	user                                    User
	expires                                 time.Time
}

// New starts a provider; Close stops it.
func New(o Options) *Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 5 * time.Minute
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p := &Provider{opts: o, key: key, kid: "test-key-1", codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.Server = httptest.NewServer(mux)
	return p
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.URL }

// SetUser sets who is signed in at the provider.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetTokenIssuer makes ID tokens carry iss instead of the issuer URL.
func (p *Provider) SetTokenIssuer(iss string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.issuer = iss
}

// ReplayLastIDToken makes the token endpoint answer every later code with
// the last ID token it issued (with its old nonce).
func (p *Provider) ReplayLastIDToken(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replay = on
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": p.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize checks the request and sends the browser back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.opts.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "scope must include openid", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	code := random()
	p.mu.Lock()
	p.codes[code] = grant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), user: p.user, expires: p.opts.Now().Add(time.Minute)}
	p.mu.Unlock()
	v := redirect.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token trades a code, once, for an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1 {
		oauthError(w, "invalid_client", "wrong client credentials")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, found := p.codes[code]
	delete(p.codes, code) // single use
	p.mu.Unlock()
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		oauthError(w, "unsupported_grant_type", "want authorization_code")
		return
	case !found || !p.opts.Now().Before(g.expires):
		oauthError(w, "invalid_grant", "unknown, used or expired code")
		return
	case g.redirectURI != r.PostForm.Get("redirect_uri") || g.clientID != id:
		oauthError(w, "invalid_grant", "redirect_uri or client differs from the authorization request")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if b64(sum[:]) != g.challenge {
		oauthError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	p.mu.Lock()
	iss := p.issuer
	if iss == "" {
		iss = p.URL
	}
	now := p.opts.Now()
	claims := map[string]any{
		"iss": iss, "sub": g.user.Subject, "aud": id, "iat": now.Unix(), "exp": now.Add(p.opts.TokenTTL).Unix(),
		"nonce": g.nonce, "email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name,
	}
	if g.user.Groups != nil {
		claims["groups"] = g.user.Groups
	}
	idToken := p.sign(claims)
	if p.replay && p.lastIDToken != "" {
		idToken = p.lastIDToken
	}
	p.lastIDToken = idToken
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": random(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// sign returns claims as a compact RS256 JWS.
func (p *Provider) sign(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.kid})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return b64(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}
