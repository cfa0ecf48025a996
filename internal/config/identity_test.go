package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateIdentity(t *testing.T) {
	const okta = "identity:\n  providers:\n    - {id: okta, type: oidc, issuer: https://acme.okta.com, client_id: c, client_secret: s}\n"
	const rule = "  roles:\n    - {role: owner, emails: [a@acme.test]}\n"
	tests := []struct {
		name string
		data string
		want []string
		msg  string
	}{
		{"valid", okta + rule, nil, ""},
		{"valid github", "identity:\n  providers:\n    - {id: gh, type: github, client_id: c, client_secret: s}\n  roles:\n    - {role: organizer, provider: gh, github_teams: [acme/events]}\n", nil, ""},
		{"no rules", okta, []string{"identity.roles"}, "every identity would be refused"},
		{"bad type", "identity:\n  providers:\n    - {id: x, type: saml, client_id: c, client_secret: s}\n" + rule, []string{"identity.providers[0].type"}, "want oidc or github"},
		{"bad id", "identity:\n  providers:\n    - {id: 'a b', type: github, client_id: c, client_secret: s}\n" + rule, []string{"identity.providers[0].id"}, "letters, digits"},
		{"no issuer", "identity:\n  providers:\n    - {id: x, type: oidc, client_id: c, client_secret: s}\n" + rule, []string{"identity.providers[0].issuer"}, "issuer URL"},
		{"no client", "identity:\n  providers:\n    - {id: x, type: github}\n" + rule, []string{"identity.providers[0].client_id", "identity.providers[0].client_secret"}, "app registration"},
		{"duplicate id", "identity:\n  providers:\n    - {id: x, type: github, client_id: c, client_secret: s}\n    - {id: x, type: github, client_id: c, client_secret: s}\n" + rule, []string{"identity.providers[1].id"}, "used by another"},
		{"bad role", okta + "  roles:\n    - {role: admin, emails: [a@b.test]}\n", []string{"identity.roles[0].role"}, "want owner, operator"},
		{"empty rule", okta + "  roles:\n    - {role: viewer}\n", []string{"identity.roles[0].role"}, "matches nobody"},
		{"unknown provider", okta + "  roles:\n    - {role: viewer, provider: google, domains: [acme.test]}\n", []string{"identity.roles[0].provider"}, "no provider"},
		{"email as domain", okta + "  roles:\n    - {role: viewer, domains: [a@acme.test]}\n", []string{"identity.roles[0].domains[0]"}, "want a domain"},
		{"team without org", okta + "  roles:\n    - {role: viewer, github_teams: [platform]}\n", []string{"identity.roles[0].github_teams[0]"}, "org/team-slug"},
		{"attendee-only provider needs no rules", "identity:\n  providers:\n    - {id: gh, type: github, client_id: c, client_secret: s, attendees: true}\n", nil, ""},
		{"bad public url", "identity:\n  public_url: llm.acme.test\n", []string{"identity.public_url"}, "absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.data, nil)
			err := c.Validate()
			if diff := cmp.Diff(tt.want, problemPaths(t, err)); diff != "" {
				t.Errorf("Validate problem paths mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.msg != "" && err != nil && !strings.Contains(unjoin(err)[0].Error(), tt.msg) {
				t.Errorf("Validate: %v\nwant a message containing %q", err, tt.msg)
			}
		})
	}
}
