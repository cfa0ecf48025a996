package main

import (
	"log/slog"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/web"
)

// newWeb returns the playground and admin portal. Portal sessions are
// signed with a key derived from the admin token and the secret key, so
// every replica accepts them and a token rotation ends them.
func newWeb(token *auth.AdminToken, secretKey []byte, log *slog.Logger) *web.Handler {
	return web.New(web.Options{
		Token:      token.Check,
		SessionKey: func() []byte { return token.SessionKey(secretKey) },
		Logger:     log,
	})
}
