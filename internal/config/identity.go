package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Identity configures how admins sign in to the portal with a company
// identity (docs/identity.md). The admin token keeps working beside it.
type Identity struct {
	// PublicURL is the gateway's address as browsers reach it, for the
	// redirect URI registered with each provider
	// (<public_url>/admin/callback/<id>). Default: taken from each
	// request's Host (and X-Forwarded-Proto).
	PublicURL string `yaml:"public_url"`
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL Duration `yaml:"session_ttl"`
	// Providers are the "Sign in with ..." buttons, in order.
	Providers []IdentityProvider `yaml:"providers"`
	// Roles map identities to roles. An identity gets the most powerful
	// role of every rule it matches; one that matches none is refused
	// with a page that says so.
	Roles []RoleRule `yaml:"roles"`
}

// IdentityProvider is one OIDC issuer or GitHub.
type IdentityProvider struct {
	// ID names the provider in URLs and audit entries: letters, digits,
	// - and _. Required.
	ID string `yaml:"id"`
	// Type is "oidc" (any OpenID Connect issuer: Entra ID, Google, Okta,
	// Keycloak, Dex) or "github". Required.
	Type string `yaml:"type"`
	// Name is the button's label: "Sign in with <name>". Default: ID.
	Name string `yaml:"name"`
	// Issuer is the OIDC issuer URL; its discovery document is at
	// <issuer>/.well-known/openid-configuration. Required for oidc.
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are the app registration's. Required.
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	// Scopes are requested besides openid, email and profile (oidc) or
	// read:org and user:email (github).
	Scopes []string `yaml:"scopes"`
	// GroupsClaim is the ID token claim that lists groups. Default
	// "groups".
	GroupsClaim string `yaml:"groups_claim"`
	// Attendees lets event attendees sign in with this provider to
	// register for events that allow it (signin_registration); they get
	// an attendee key, never a role. Default false: admins only.
	Attendees bool `yaml:"attendees"`
	// GitHubURL and GitHubAPIURL point at GitHub Enterprise Server.
	// Defaults https://github.com and https://api.github.com.
	GitHubURL    string `yaml:"github_url"`
	GitHubAPIURL string `yaml:"github_api_url"`
}

// RoleRule gives Role to identities that match any of its lists.
type RoleRule struct {
	// Role is owner, operator, organiser or viewer. Required.
	Role string `yaml:"role"`
	// Provider limits the rule to one provider's identities; "" is any.
	Provider string `yaml:"provider"`
	// Emails match a verified email exactly (case-insensitive).
	Emails []string `yaml:"emails"`
	// Domains match the domain of a verified email ("example.com").
	Domains []string `yaml:"domains"`
	// Groups match the OIDC groups claim.
	Groups []string `yaml:"groups"`
	// GitHubOrgs match GitHub organisation logins; GitHubTeams match
	// "org/team-slug".
	GitHubOrgs  []string `yaml:"github_orgs"`
	GitHubTeams []string `yaml:"github_teams"`
}

var providerID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

var roleNames = []string{"owner", "operator", "organiser", "organizer", "viewer"}

func (v *validation) identity() {
	id := v.c.Identity
	if id.PublicURL != "" {
		if u, err := url.Parse(id.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add("identity.public_url", "use the absolute URL browsers reach the gateway at, such as https://llm.example.com")
		}
	}
	seen := map[string]bool{}
	for i, p := range id.Providers {
		at := fmt.Sprintf("identity.providers[%d].", i)
		switch {
		case !providerID.MatchString(p.ID):
			v.add(at+"id", "want 1 to 40 letters, digits, - or _ (it goes in the callback URL), not %q", p.ID)
		case seen[p.ID]:
			v.add(at+"id", "%q is used by another provider; ids must differ", p.ID)
		}
		seen[p.ID] = true
		switch p.Type {
		case "oidc":
			if u, err := url.Parse(p.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.add(at+"issuer", "want the issuer URL, such as https://login.microsoftonline.com/<tenant>/v2.0 or https://accounts.google.com")
			}
		case "github":
			for _, f := range [][2]string{{"github_url", p.GitHubURL}, {"github_api_url", p.GitHubAPIURL}} {
				if f[1] == "" {
					continue
				}
				if u, err := url.Parse(f[1]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					v.add(at+f[0], "want an absolute URL")
				}
			}
		default:
			v.add(at+"type", "want oidc or github, not %q", p.Type)
		}
		if p.ClientID == "" {
			v.add(at+"client_id", "missing; copy it from the app registration")
		}
		if p.ClientSecret == "" {
			v.add(at+"client_secret", "missing; give it as os.environ/NAME")
		}
	}
	admins := slices.ContainsFunc(id.Providers, func(p IdentityProvider) bool { return !p.Attendees })
	if admins && len(id.Roles) == 0 {
		v.add("identity.roles", "no rules: every identity would be refused; map emails, domains, groups or GitHub orgs to roles")
	}
	for i, r := range id.Roles {
		at := fmt.Sprintf("identity.roles[%d].", i)
		if !slices.Contains(roleNames, r.Role) {
			v.add(at+"role", "want owner, operator, organiser or viewer, not %q", r.Role)
		}
		if r.Provider != "" && !seen[r.Provider] {
			v.add(at+"provider", "no provider has the id %q", r.Provider)
		}
		if len(r.Emails)+len(r.Domains)+len(r.Groups)+len(r.GitHubOrgs)+len(r.GitHubTeams) == 0 {
			v.add(at+"role", "the rule matches nobody: give emails, domains, groups, github_orgs or github_teams")
		}
		for j, d := range r.Domains {
			if strings.Contains(d, "@") || !strings.Contains(d, ".") {
				v.add(fmt.Sprintf("%sdomains[%d]", at, j), "want a domain such as example.com, not %q", d)
			}
		}
		for j, t := range r.GitHubTeams {
			if org, team, ok := strings.Cut(t, "/"); !ok || org == "" || team == "" {
				v.add(fmt.Sprintf("%sgithub_teams[%d]", at, j), "want org/team-slug, not %q", t)
			}
		}
	}
}
