package main

import (
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
)

// clientAuth returns the client authenticator: the keyring (static and
// stored keys), behind an Entra ID token validator when client_auth.entra
// is configured. A mapped key id names a stored key's id or a static key's
// name.
func clientAuth(cfg *config.Config, keys *auth.Keyring) auth.Authenticator {
	e := cfg.ClientAuth.Entra
	if e == nil {
		return keys
	}
	rules := make([]auth.EntraRule, 0, len(e.Map))
	for _, m := range e.Map {
		rules = append(rules, auth.EntraRule{AppID: m.AppID, Group: m.Group, KeyID: m.KeyID})
	}
	return auth.NewEntra(auth.EntraOptions{
		TenantID:      e.TenantID,
		Audience:      e.Audience,
		Issuers:       e.Issuers,
		JWKSURL:       e.JWKSURL,
		AuthorityHost: e.AuthorityHost,
		Rules:         rules,
		Keys:          keys,
		Next:          keys,
	})
}
