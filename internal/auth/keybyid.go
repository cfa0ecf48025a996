package auth

import (
	"context"
	"strings"
)

// KeyByID returns the principal of the static key with that name
// ("team-a") or key id ("static:team-a"), or ErrInvalidKey. It lets an
// Entra ID token act as a static key (see Entra).
func (s *StaticKeys) KeyByID(_ context.Context, id string) (*Principal, error) {
	name := strings.TrimPrefix(id, "static:")
	for _, e := range s.byHash {
		if e.principal.Name == name {
			return e.principal, nil
		}
	}
	return nil, ErrInvalidKey
}
