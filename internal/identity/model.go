package identity

import (
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleCaseworker    Role = "caseworker"     // assigned cases only
	RoleSupervisor    Role = "supervisor"     // the organisation's cases, reviews
	RoleContentEditor Role = "content_editor" // protocol content only, no case data
	RoleAdmin         Role = "admin"          // users and devices, no case content
	RoleAuditor       Role = "auditor"        // the audit log, read-only
)

// Roles lists every role in display order.
var Roles = []Role{RoleCaseworker, RoleSupervisor, RoleContentEditor, RoleAdmin, RoleAuditor}

// Organisation is a deploying agency. Every user, device and record belongs to exactly one.
type Organisation struct {
	ID           string
	Name         string
	ServiceKinds []ServiceKind // the kinds of service it provides (DirectoryWrites), in the order of ServiceKinds
	Contact      string        // how other agencies reach it (an address, a telephone number): no child data
	CreatedAt    time.Time
	UpdatedAt    time.Time // CreatedAt until it is edited
	Version      int64     // 1 when created (also for organisations recorded before versions existed), +1 on every edit
}

// User is a person who signs in.
type User struct {
	ID           string // UUIDv7
	OrgID        string
	Username     string // unique across the deployment (sign-in needs no organisation), lower case
	DisplayName  string
	Roles        []Role
	Disabled     bool
	PasswordHash string // argon2id, PHC string format; empty for users of an external identity provider
	// PasswordChangeRequired: the password was generated or set by an admin, and the user must choose
	// their own (ChangePassword) before doing anything else.
	PasswordChangeRequired bool
	Locale                 string // preferred language of the console ("" = negotiate from the browser)
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Version                int64
}

// HasRole reports whether u has role r.
func (u User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// public returns u without its password hash: the form the Service hands out.
func (u User) public() User {
	u.PasswordHash = ""
	u.Roles = slices.Clone(u.Roles)
	return u
}

// Device is a phone or tablet a user signed in from. Revoking it kills its sessions at once.
type Device struct {
	ID         string // chosen by the client app (stable per installation)
	OrgID      string
	UserID     string
	Name       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	RevokedAt  *time.Time
}

// Session is a refresh-token family: one sign-in on one device. Each refresh rotates the token; the
// store keeps only hashes. Presenting a token that was already rotated revokes the whole family.
type Session struct {
	ID           string // family id
	OrgID        string
	UserID       string
	DeviceID     string
	TokenHash    string // SHA-256 (hex) of the current refresh token
	PreviousHash []string
	CreatedAt    time.Time
	RefreshedAt  time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	Version      int64
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID    string
	OrgID     string
	Username  string
	Roles     []Role
	DeviceID  string
	SessionID string
	// PasswordChangeRequired: only routes open during a password change let this principal through.
	PasswordChangeRequired bool
	Locale                 string // the user's preferred console language ("" = none)
}

// HasRole reports whether the principal has role r.
func (p Principal) HasRole(r Role) bool { return slices.Contains(p.Roles, r) }

// FirstRole returns p's first role ("" when it has none): the role recorded for an action that
// each of its roles may take, such as reading the audit log.
func (p Principal) FirstRole() Role {
	if len(p.Roles) == 0 {
		return ""
	}
	return p.Roles[0]
}

// ActorRole names, for the audit log, the role p acts in: role, or when it is empty (p was refused
// before acting in any role) all of p's roles, comma-separated.
func (p Principal) ActorRole(role Role) string {
	if role != "" {
		return string(role)
	}
	return roleList(p.Roles)
}

// AuditEvent is the audit event of p acting in role (empty: p's roles, comma-separated): action on
// the resource of resourceType and resourceID, ending with outcome.
func (p Principal) AuditEvent(role Role, action, resourceType, resourceID string, outcome audit.Outcome) audit.Event {
	return audit.Event{OrgID: p.OrgID, ActorID: p.UserID, ActorRole: p.ActorRole(role), DeviceID: p.DeviceID,
		Action: action, ResourceType: resourceType, ResourceID: resourceID, Outcome: outcome}
}

// HasAnyRole reports whether the principal has at least one of roles.
func (p Principal) HasAnyRole(roles ...Role) bool {
	return slices.ContainsFunc(roles, p.HasRole)
}

// Tokens is what a sign-in or a refresh returns.
type Tokens struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	SessionID        string
}
