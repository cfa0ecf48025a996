package access

import (
	"fmt"

	"github.com/spillwayhq/spillway/internal/auth"
)

// scope is one holder of counted rpm and tpm limits: the key itself, or
// the team it belongs to. A request needs every scope of its principal to
// allow it, and is counted against each. Scopes are the seam for checking
// all of a request's limits in one round trip: each names its limiter
// keys and its limits.
type scope struct {
	// kind is "key" or "team"; id the key's or the team's. One team's keys
	// share its limiter keys, so every replica and every key of the team
	// counts against one limit.
	kind, id string
	rpm, tpm int
	team     *auth.Team // nil for the key's own scope
}

// A scope's limiter keys are its kind, the family and its id:
// "key:rpm:ID", "team:tpm:ID". limitsOf and correct build a request's in
// one string (keyText); these are the same names.
const (
	rpmFamily = ":rpm:"
	tpmFamily = ":tpm:"
)

// tpmKey is the limiter key of the scope's tpm count.
func (s scope) tpmKey() string { return s.kind + tpmFamily + s.id }

// whose ends a refusal message: "this key", "team "Red" (red)"; owns is
// its possessive. Built only when a request is refused.
func (s scope) whose() string {
	if s.team == nil {
		return "this key"
	}
	return teamName(s.team)
}

func (s scope) owns() string { return s.whose() + "'s" }

// maxScopes bounds scopes: the key and its team.
const maxScopes = 2

// scopes returns p's scopes with a counted limit, the key's first, then
// its team's, in an array so that admitting a request allocates nothing
// for them.
func scopes(p *auth.Principal) (out [maxScopes]scope, n int) {
	if p.RPM > 0 || p.TPM > 0 {
		out[n] = scope{kind: "key", id: p.KeyID, rpm: p.RPM, tpm: p.TPM}
		n++
	}
	if t := p.Team; t != nil && (t.RPM > 0 || t.TPM > 0) {
		out[n] = scope{kind: "team", id: t.ID, rpm: t.RPM, tpm: t.TPM, team: t}
		n++
	}
	return out, n
}

// teamName names a team in messages: "team "Red" (red)".
func teamName(t *auth.Team) string {
	if t.Name == "" || t.Name == t.ID {
		return fmt.Sprintf("team %q", t.ID)
	}
	return fmt.Sprintf("team %q (%s)", t.Name, t.ID)
}
