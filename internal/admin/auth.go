package admin

import (
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
)

// authorize checks Authorization: Bearer <admin token>. LiteLLM clients
// send their master key the same way, and the seed's tools their
// management token. A browser signed in to the admin portal sends no
// token: Options.Session vouches for it instead.
func (h *handler) authorize(r *http.Request) error {
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok && r.Header.Get("Authorization") == "" && h.opts.Session != nil && h.opts.Session(r) {
		return nil
	}
	if !ok {
		return &apierror.Error{
			Status:  http.StatusUnauthorized,
			Message: "admin token required: send Authorization: Bearer <admin token>",
			Type:    apierror.TypeAuthentication, Code: "missing_admin_token",
		}
	}
	if h.opts.Token == nil || !h.opts.Token(token) {
		return &apierror.Error{Status: http.StatusUnauthorized, Message: "invalid admin token", Type: apierror.TypeAuthentication, Code: "invalid_admin_token"}
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header. The
// scheme is case-insensitive (RFC 9110); an empty token counts as none.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
