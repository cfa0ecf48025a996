package admin

import "strings"

// bearer returns the token of an "Authorization: Bearer TOKEN" header. The
// scheme is case-insensitive (RFC 9110); an empty token counts as none.
// LiteLLM clients send their master key this way, and the seed's tools
// their management token; who the token belongs to is roles.go's concern.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
