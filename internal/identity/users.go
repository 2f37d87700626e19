package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// Me returns the caller's user record (without the password hash): an *apperr.Error NotFound when it
// no longer exists, or the store's error.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	u, err := s.userOf(ctx, p.OrgID, p.UserID)
	if err != nil {
		return User{}, err
	}
	return u.public(), nil
}

// NewUser is an admin's request to create a user.
type NewUser struct {
	Username    string
	DisplayName string
	Roles       []Role
	Password    string
	// PasswordChangeRequired makes the user choose their own password at first sign-in.
	PasswordChangeRequired bool
}

// CreateUser creates a user in the admin's organisation. It returns the user (without the password
// hash); ErrForbidden when p is not an admin; an *apperr.Error Invalid with field errors for a bad
// username, display name, roles or password (policy), or a username in use (code "taken", wrapping
// ErrUsernameTaken); or the store's or recorder's error.
func (s *Service) CreateUser(ctx context.Context, p Principal, nu NewUser) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	return s.createUser(ctx, p.OrgID, nu, eventBy(p, ActionUserCreated, ResourceUser, "", audit.OutcomeSuccess))
}

func (s *Service) createUser(ctx context.Context, orgID string, nu NewUser, e audit.Event) (User, error) {
	now := s.clock()
	username := NormalizeUsername(nu.Username)
	displayName := strings.TrimSpace(nu.DisplayName)
	var fe fieldErrors
	fe.username("username", username)
	fe.Required("display_name", displayName)
	fe.MaxLength("display_name", displayName, maxDisplayNameLen)
	roles := fe.roles("roles", nu.Roles)
	if err := CheckPasswordPolicy(username, nu.Password); err != nil {
		fe.FieldErrors = append(fe.FieldErrors, asFields(err)...)
	}
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, fmt.Errorf("making a user id: %w", err)
	}
	u := User{ID: id.String(), OrgID: orgID, Username: username, DisplayName: displayName, Roles: roles,
		PasswordHash: hash, PasswordChangeRequired: nu.PasswordChangeRequired, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrUsernameTaken) {
			return User{}, errUsernameTaken()
		}
		return User{}, fmt.Errorf("creating the user: %w", err)
	}
	e.OrgID, e.ResourceID = orgID, u.ID
	if err := s.record(ctx, e); err != nil {
		return User{}, err
	}
	return u.public(), nil
}

// UserPage is one page of users. Next is the cursor of the following page ("" on the last one).
type UserPage struct {
	Users []User
	Next  string
}

// ListUsers returns up to limit users (0: DefaultPageSize, at most MaxPageSize) of the admin's
// organisation with ids after afterID, by id, without password hashes. It returns ErrForbidden when
// p is not an admin, or the store's error.
func (s *Service) ListUsers(ctx context.Context, p Principal, afterID string, limit int) (UserPage, error) {
	if !p.HasRole(RoleAdmin) {
		return UserPage{}, ErrForbidden
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	us, err := s.store.ListUsers(ctx, p.OrgID, afterID, limit+1)
	if err != nil {
		return UserPage{}, fmt.Errorf("listing users: %w", err)
	}
	page := UserPage{Users: make([]User, 0, min(len(us), limit))}
	for i, u := range us {
		if i == limit {
			page.Next = page.Users[limit-1].ID
			break
		}
		page.Users = append(page.Users, u.public())
	}
	return page, nil
}

// UserUpdate changes some fields of a user; nil fields stay as they are.
type UserUpdate struct {
	DisplayName *string
	Roles       *[]Role
	Disabled    *bool
}

// UpdateUser changes a user of the admin's organisation whose current version is version, and
// returns it at its new version (an update that changes nothing returns the user as it is).
// Disabling a user also ends all their sessions. It returns ErrForbidden when p is not an admin;
// an *apperr.Error NotFound (wrapping ErrNotFound) for an unknown user or another organisation's;
// an *apperr.Error Conflict wrapping a *StaleError with the current user when version is not
// current; an *apperr.Error Invalid for bad values, or (code self_lockout) when an admin would
// disable themselves or drop their own admin role; or the store's or recorder's error.
func (s *Service) UpdateUser(ctx context.Context, p Principal, id string, upd UserUpdate, version int64) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	now := s.clock()
	cur, err := s.userOf(ctx, p.OrgID, id)
	if err != nil {
		return User{}, err
	}
	if cur.Version != version {
		return User{}, errUserStale(cur.public())
	}
	next := cur
	var fe fieldErrors
	if upd.DisplayName != nil {
		next.DisplayName = strings.TrimSpace(*upd.DisplayName)
		fe.Required("display_name", next.DisplayName)
		fe.MaxLength("display_name", next.DisplayName, maxDisplayNameLen)
	}
	if upd.Roles != nil {
		next.Roles = fe.roles("roles", *upd.Roles)
	}
	if upd.Disabled != nil {
		next.Disabled = *upd.Disabled
	}
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	if id == p.UserID && (next.Disabled || !next.HasRole(RoleAdmin)) {
		return User{}, errSelfLockout()
	}
	rolesChanged := roleList(next.Roles) != roleList(cur.Roles)
	disabled := next.Disabled && !cur.Disabled
	otherChange := next.DisplayName != cur.DisplayName || (!next.Disabled && cur.Disabled)
	if !rolesChanged && !disabled && !otherChange {
		return cur.public(), nil
	}
	next.Version, next.UpdatedAt = version+1, now
	if rolesChanged || disabled {
		defer s.auth.dropUser(p.OrgID, id)
	}
	if err := s.store.UpdateUser(ctx, next); err != nil {
		return User{}, s.updateFailed(ctx, p.OrgID, id, err)
	}
	if disabled {
		if err := s.store.RevokeUserSessions(ctx, p.OrgID, id, now); err != nil {
			return User{}, fmt.Errorf("ending the sessions of a disabled user: %w", err)
		}
	}
	for _, ev := range []struct {
		happened bool
		action   string
	}{{rolesChanged, ActionRoleChanged}, {disabled, ActionUserDisabled}, {otherChange, ActionUserUpdated}} {
		if !ev.happened {
			continue
		}
		if err := s.record(ctx, eventBy(p, ev.action, ResourceUser, id, audit.OutcomeSuccess)); err != nil {
			return User{}, err
		}
	}
	return next.public(), nil
}

// updateFailed turns a failed Store.UpdateUser into the error for the client.
func (s *Service) updateFailed(ctx context.Context, orgID, id string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errUserNotFound(id)
	case errors.Is(err, ErrStale):
		cur, rerr := s.userOf(ctx, orgID, id)
		if rerr != nil {
			return rerr
		}
		return errUserStale(cur.public())
	default:
		return fmt.Errorf("updating the user: %w", err)
	}
}

// ResetPassword sets a new password for a user of the admin's organisation, ends all the user's
// sessions, clears the account's sign-in lock and requires the user to choose their own password
// at the next sign-in (User.PasswordChangeRequired). It returns the user at its new version;
// ErrForbidden when p is not an admin; an *apperr.Error NotFound for an unknown user or another
// organisation's; an *apperr.Error Invalid when the password breaks the policy; or the store's or
// recorder's error.
func (s *Service) ResetPassword(ctx context.Context, p Principal, id, newPassword string) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	cur, err := s.userOf(ctx, p.OrgID, id)
	if err != nil {
		return User{}, err
	}
	if err := CheckPasswordPolicy(cur.Username, newPassword); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return User{}, err
	}
	now := s.clock()
	defer s.auth.dropUser(p.OrgID, id)
	for attempt := 0; ; attempt++ {
		next := cur
		next.PasswordHash, next.Version, next.UpdatedAt = hash, cur.Version+1, now
		next.PasswordChangeRequired = true // the admin knows it: the user chooses their own at sign-in
		err := s.store.UpdateUser(ctx, next)
		if err == nil {
			cur = next
			break
		}
		if !errors.Is(err, ErrStale) || attempt == 2 {
			return User{}, s.updateFailed(ctx, p.OrgID, id, err)
		}
		if cur, err = s.userOf(ctx, p.OrgID, id); err != nil { // changed meanwhile: apply to the new version
			return User{}, err
		}
	}
	if err := s.store.RevokeUserSessions(ctx, p.OrgID, id, now); err != nil {
		return User{}, fmt.Errorf("ending the sessions of the user: %w", err)
	}
	if err := s.throttle.Succeed(ctx, AccountKey(cur.Username)); err != nil {
		return User{}, err
	}
	if err := s.record(ctx, eventBy(p, ActionPasswordReset, ResourceUser, id, audit.OutcomeSuccess)); err != nil {
		return User{}, err
	}
	return cur.public(), nil
}

// Bootstrap makes a fresh deployment usable: when no user exists at all it creates organisation
// "default" and user "admin" (role admin) with password, or with a generated one when password is
// "" (returned so the caller can show it once; it is stored only hashed, and the admin must replace
// it at first sign-in: User.PasswordChangeRequired). When users exist it does
// nothing and returns false. It returns an *apperr.Error Invalid when password breaks the policy,
// or the store's or recorder's error. Safe to run from several instances at once.
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, generatedPassword string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, "", fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return false, "", nil
	}
	if password == "" {
		for CheckPasswordPolicy(BootstrapAdmin, generatedPassword) != nil {
			generatedPassword = rand.Text()
		}
		password = generatedPassword
	} else if err := CheckPasswordPolicy(BootstrapAdmin, password); err != nil {
		return false, "", err
	}
	err = s.store.CreateOrganisation(ctx, Organisation{ID: DefaultOrgID, Name: DefaultOrgName, CreatedAt: s.clock()})
	if err != nil && !errors.Is(err, ErrExists) {
		return false, "", fmt.Errorf("creating the default organisation: %w", err)
	}
	e := audit.Event{ActorRole: systemActorRoles, Action: ActionUserCreated, ResourceType: ResourceUser, Outcome: audit.OutcomeSuccess}
	_, err = s.createUser(ctx, DefaultOrgID, NewUser{Username: BootstrapAdmin, DisplayName: "Administrator", Roles: []Role{RoleAdmin}, Password: password,
		PasswordChangeRequired: generatedPassword != ""}, e)
	if errors.Is(err, ErrUsernameTaken) { // another instance bootstrapped at the same time
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, generatedPassword, nil
}

// userOf reads a user of an organisation, turning ErrNotFound into the client's 404.
func (s *Service) userOf(ctx context.Context, orgID, id string) (User, error) {
	u, err := s.store.UserByID(ctx, orgID, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound(id)
	}
	if err != nil {
		return User{}, fmt.Errorf("reading user %s: %w", id, err)
	}
	return u, nil
}

// HasRole reports whether user userID of organisation orgID exists, is enabled and has role. It
// returns the store's error when the store fails.
func (s *Service) HasRole(ctx context.Context, orgID, userID string, role Role) (bool, error) {
	u, err := s.store.UserByID(ctx, orgID, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading user %s: %w", userID, err)
	}
	return !u.Disabled && u.HasRole(role), nil
}
