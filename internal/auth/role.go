package auth

import (
	"context"
	"fmt"
)

// Role is what an admin identity may do through the management APIs and
// the portal (DESIGN.md "Identity and organisation").
type Role string

// The roles, from most to least powerful.
const (
	// RoleOwner may do everything, including minting admin API tokens and
	// reading the audit log. The static admin token is an owner.
	RoleOwner Role = "owner"
	// RoleOperator manages deployments, keys, teams and usage, and reads
	// everything but admin tokens.
	RoleOperator Role = "operator"
	// RoleOrganiser creates events and sees and changes only their own
	// events, those events' attendees and those events' usage.
	RoleOrganiser Role = "organiser"
	// RoleViewer reads what an operator reads and changes nothing.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleOperator, RoleOrganiser, RoleViewer}

// ParseRole returns the role named s, or an error that lists the roles.
// "organizer" is accepted for "organiser".
func ParseRole(s string) (Role, error) {
	if s == "organizer" {
		return RoleOrganiser, nil
	}
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: want owner, operator, organiser or viewer", s)
}

// Admin is who is calling the management API: the static admin token, a
// minted admin API token, or a person signed in to the portal.
type Admin struct {
	// ID names the identity in audit entries and event ownership:
	// "admin-token", "token:<id>", "oidc:<provider>:<email or subject>",
	// "github:<login>".
	ID string
	// Name is for display (an email or a login); may equal ID.
	Name string
	Role Role
}

// StaticAdmin is the identity of the static admin token from the config,
// the environment or the store.
var StaticAdmin = Admin{ID: "admin-token", Name: "admin token", Role: RoleOwner}

type adminKey struct{}

// WithAdmin returns ctx carrying a.
func WithAdmin(ctx context.Context, a Admin) context.Context {
	return context.WithValue(ctx, adminKey{}, a)
}

// AdminFrom returns the admin identity ctx carries, if any.
func AdminFrom(ctx context.Context) (Admin, bool) {
	a, ok := ctx.Value(adminKey{}).(Admin)
	return a, ok
}
