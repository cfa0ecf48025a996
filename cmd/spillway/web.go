package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/identity"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/web"
)

// newWeb returns the playground and admin portal. Portal sessions are
// signed with a key derived from the admin token and the secret key, so
// every replica accepts them and a token rotation ends them. Sign-ins
// with a company identity (id, nil when none is configured) keep their
// sessions in the store.
func newWeb(token *auth.AdminToken, secretKey []byte, id *identity.Service, st store.Store, now func() time.Time, log *slog.Logger) *web.Handler {
	o := web.Options{
		Token:      token.Check,
		SessionKey: func() []byte { return token.SessionKey(secretKey) },
		Logger:     log,
		// Admin token sign-ins to the portal go to the audit log like
		// sign-ins with a provider.
		SignInAudit: func(r *http.Request, action string, status int) {
			e := store.AuditEntry{At: now(), Resource: "sessions", Action: action, Status: status, Address: auth.PeerHost(r)}
			if action == "signin" {
				e.Actor, e.Role = auth.StaticAdmin.ID, string(auth.StaticAdmin.Role)
			}
			if _, err := st.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
				log.ErrorContext(r.Context(), "audit entry not stored", "action", action, "err", err)
			}
		},
	}
	if id != nil {
		o.Identity = portalIdentity{id}
	}
	return web.New(o)
}

// newIdentity returns the portal's stored sessions and the sign-in with
// company identities (none when the config names no provider). Its state
// cookie is signed with the same key as token sessions.
func newIdentity(cfg config.Identity, st store.Store, token *auth.AdminToken, secretKey []byte, attendees *admin.Attendees, now func() time.Time, log *slog.Logger) *identity.Service {
	return identity.New(identity.Options{
		Config: cfg, Store: st, Now: now, Logger: log,
		Key:    func() []byte { return token.SessionKey(secretKey) },
		Client: &http.Client{Timeout: 15 * time.Second},
		// A fingerprint of the key derived from the token's hash: it
		// changes with the token, and reveals neither.
		TokenEpoch: func() string {
			k := token.SessionKey(secretKey)
			if k == nil {
				return ""
			}
			sum := sha256.Sum256(append([]byte("spillway token epoch\x00"), k...))
			return hex.EncodeToString(sum[:8])
		},
		Register: func(ctx context.Context, eventID, attendee, email string) (identity.Registration, error) {
			r, err := attendees.Register(ctx, eventID, attendee, email)
			return identity.Registration{EventName: r.Event.Name, Key: r.Key, New: r.New}, err
		},
	})
}

// portalIdentity adapts identity.Service to web.Identity.
type portalIdentity struct{ *identity.Service }

// SignInWithToken starts a stored session for the admin token's holder.
func (p portalIdentity) SignInWithToken(w http.ResponseWriter, r *http.Request) error {
	return p.Begin(w, r, auth.StaticAdmin, "admin-token")
}

func (p portalIdentity) Links() []web.SignInLink {
	links := p.Service.Links()
	out := make([]web.SignInLink, len(links))
	for i, l := range links {
		out[i] = web.SignInLink{Name: l.Name, URL: l.URL}
	}
	return out
}
