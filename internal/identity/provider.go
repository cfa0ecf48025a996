package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/spillwayhq/spillway/internal/config"
)

// provider is one way to sign in.
type provider interface {
	conf() config.IdentityProvider
	name() string
	// authURL is where to send the browser to sign in.
	authURL(ctx context.Context, redirectURI string, f flow) (string, error)
	// exchange trades the callback's code for the identity.
	exchange(ctx context.Context, redirectURI, code string, f flow) (Identity, error)
}

// oidcProvider signs in with any OpenID Connect issuer.
type oidcProvider struct {
	c      config.IdentityProvider
	client *http.Client
	now    func() time.Time

	mu sync.Mutex
	// p is the discovered provider; nil until discovery first works, so
	// an issuer that is down at start is tried again on the next sign-in.
	p *oidc.Provider
}

func newOIDC(c config.IdentityProvider, client *http.Client, now func() time.Time) *oidcProvider {
	return &oidcProvider{c: c, client: client, now: now}
}

func (o *oidcProvider) conf() config.IdentityProvider { return o.c }

func (o *oidcProvider) name() string {
	if o.c.Name != "" {
		return o.c.Name
	}
	return o.c.ID
}

// discover reads the issuer's discovery document once. go-oidc refuses a
// document whose issuer is not the configured one.
func (o *oidcProvider) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p != nil {
		return o.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.c.Issuer)
	if err != nil {
		return nil, err
	}
	o.p = p
	return p, nil
}

func (o *oidcProvider) oauth(p *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.c.ClientID, ClientSecret: o.c.ClientSecret.Value(), Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, o.c.Scopes...),
	}
}

func (o *oidcProvider) authURL(ctx context.Context, redirectURI string, f flow) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return o.oauth(p, redirectURI).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

func (o *oidcProvider) exchange(ctx context.Context, redirectURI, code string, f flow) (Identity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth(p, redirectURI).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("the token answer has no id_token")
	}
	// Verify checks the signature against the issuer's JWKS, iss, aud
	// and exp (on our clock).
	idt, err := p.VerifierContext(ctx, &oidc.Config{ClientID: o.c.ClientID, Now: o.now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("ID token: %w", err)
	}
	if !equal(idt.Nonce, f.Nonce) {
		return Identity{}, errors.New("ID token: the nonce is not this sign-in's (a replayed token)")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("ID token claims: %w", err)
	}
	id := Identity{Provider: o.c.ID, Subject: idt.Subject}
	id.Name, _ = claims["name"].(string)
	// An email counts when the issuer does not say it is unverified:
	// Entra ID sends no email_verified; Google and Keycloak send it.
	if email, _ := claims["email"].(string); email != "" {
		if v, ok := claims["email_verified"].(bool); !ok || v {
			id.Email = strings.ToLower(email)
		}
	}
	groupsClaim := o.c.GroupsClaim
	if groupsClaim == "" {
		groupsClaim = "groups"
	}
	if gs, ok := claims[groupsClaim].([]any); ok {
		for _, g := range gs {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	return id, nil
}

// roleOf returns the most powerful role any rule gives id, or "" and a
// sentence that says what was checked.
func (s *Service) roleOf(id Identity) (role, why string) {
	rank := map[string]int{"owner": 4, "operator": 3, "organiser": 2, "organizer": 2, "viewer": 1}
	best := 0
	for _, r := range s.rules {
		if r.Provider != "" && r.Provider != id.Provider {
			continue
		}
		if matches(r, id) && rank[r.Role] > best {
			best, role = rank[r.Role], r.Role
		}
	}
	if role == "organizer" {
		role = "organiser"
	}
	if role != "" {
		return role, ""
	}
	var checked []string
	if id.Email != "" {
		checked = append(checked, "email "+id.Email)
	} else {
		checked = append(checked, "no verified email")
	}
	if len(id.Groups) > 0 {
		checked = append(checked, "groups "+strings.Join(id.Groups, ", "))
	}
	if id.Login != "" {
		checked = append(checked, "GitHub orgs "+orNone(id.Orgs), "GitHub teams "+orNone(id.Teams))
	}
	return "", fmt.Sprintf("%s signed in with %s, but no rule under identity.roles in the gateway's config gives it a role (checked: %s). Ask the gateway's owner to add your email, domain, group, organisation or team.",
		displayName(id), id.Provider, strings.Join(checked, "; "))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// matches reports whether id is in any of r's lists.
func matches(r config.RoleRule, id Identity) bool {
	if id.Email != "" {
		_, domain, _ := strings.Cut(id.Email, "@")
		if slices.ContainsFunc(r.Emails, func(e string) bool { return strings.EqualFold(e, id.Email) }) ||
			slices.ContainsFunc(r.Domains, func(d string) bool { return strings.EqualFold(d, domain) }) {
			return true
		}
	}
	for _, g := range id.Groups {
		if slices.Contains(r.Groups, g) {
			return true
		}
	}
	for _, o := range id.Orgs {
		if slices.ContainsFunc(r.GitHubOrgs, func(x string) bool { return strings.EqualFold(x, o) }) {
			return true
		}
	}
	for _, t := range id.Teams {
		if slices.ContainsFunc(r.GitHubTeams, func(x string) bool { return strings.EqualFold(x, t) }) {
			return true
		}
	}
	return false
}
