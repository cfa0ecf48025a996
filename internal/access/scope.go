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
	// rpmKey and tpmKey are the limiter keys; one team's keys share them,
	// so every replica and every key of the team counts against one limit.
	rpmKey, tpmKey string
	rpm, tpm       int
	// whose ends the refusal messages: "this key", "team \"red\"";
	// owns is its possessive: "this key's", "team \"red\"'s".
	whose, owns string
}

// scopes returns p's scopes with a counted limit: the key's first, then
// its team's.
func scopes(p *auth.Principal) []scope {
	out := make([]scope, 0, 2)
	if p.RPM > 0 || p.TPM > 0 {
		out = append(out, scope{rpmKey: "key:rpm:" + p.KeyID, tpmKey: "key:tpm:" + p.KeyID, rpm: p.RPM, tpm: p.TPM, whose: "this key", owns: "this key's"})
	}
	if t := p.Team; t != nil && (t.RPM > 0 || t.TPM > 0) {
		name := teamName(t)
		out = append(out, scope{rpmKey: "team:rpm:" + t.ID, tpmKey: "team:tpm:" + t.ID, rpm: t.RPM, tpm: t.TPM, whose: name, owns: name + "'s"})
	}
	return out
}

// teamName names a team in messages: "team "Red" (red)".
func teamName(t *auth.Team) string {
	if t.Name == "" || t.Name == t.ID {
		return fmt.Sprintf("team %q", t.ID)
	}
	return fmt.Sprintf("team %q (%s)", t.Name, t.ID)
}
