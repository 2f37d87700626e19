// Package access holds the access policies routes are declared with, shared by the JSON API
// (internal/httpapi) and the console (internal/console), so both enforce one set of rules and the
// access matrix lists every route of both.
package access

import (
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Policy says who may call a route: anyone (Public), any signed-in user (no Roles), or a signed-in
// user with at least one of Roles. Finer rules (own records, assigned cases, same organisation:
// 404 otherwise) are the services'. Routes marked DuringPasswordChange stay open to a user who must
// change their password first (identity.Principal.PasswordChangeRequired); every other route refuses
// them with identity.ErrPasswordChangeRequired.
type Policy struct {
	Public               bool
	Roles                []identity.Role
	DuringPasswordChange bool
}

// The common policies.
var (
	Public   = Policy{Public: true}
	SignedIn = Policy{}
)

// Roles is the policy of routes open to signed-in users with at least one of roles.
func Roles(roles ...identity.Role) Policy { return Policy{Roles: roles} }

// PasswordChange returns p open to users who must change their password first.
func (p Policy) PasswordChange() Policy {
	p.DuringPasswordChange = true
	return p
}

// Check applies p to an authenticated principal: nil when p lets pr through;
// identity.ErrPasswordChangeRequired when pr must change their password and p is not open to them;
// identity.ErrForbidden when pr lacks every role p names. Public policies let everyone through.
func (p Policy) Check(pr identity.Principal) error {
	if p.Public {
		return nil
	}
	if pr.PasswordChangeRequired && !p.DuringPasswordChange {
		return identity.ErrPasswordChangeRequired
	}
	if len(p.Roles) > 0 && !pr.HasAnyRole(p.Roles...) {
		return identity.ErrForbidden
	}
	return nil
}

// Route is one registered route and who may call it: a line of the access matrix the tests walk.
type Route struct {
	Method, Path string
	Public       bool
	Roles        []identity.Role // empty and not Public: any signed-in user
}

// Describe returns the matrix line of a route at method and path with policy p.
func (p Policy) Describe(method, path string) Route {
	return Route{Method: method, Path: path, Public: p.Public, Roles: slices.Clone(p.Roles)}
}
