package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// ErrExternalUserUnknown is returned by ExternalLogin when no enabled user of the provider's
// organisation has the provider's username: the identity provider vouched for someone this service
// does not know (an admin creates the user first, with the same username).
var ErrExternalUserUnknown = errors.New("identity: no enabled user of the organisation has the identity provider's username")

// ExternalLoginRequest is a sign-in vouched for by the OpenID Connect provider: its identity's
// organisation and username (see oidc.Identity), and the device the session is started on.
type ExternalLoginRequest struct {
	OrgID      string
	Username   string
	DeviceID   string
	DeviceName string
	// SessionTTL is the absolute lifetime of the session (0: Config.RefreshTTL).
	SessionTTL time.Duration
}

// ExternalLogin starts a session, as Login does after a correct password, for the user of
// organisation req.OrgID whose username is req.Username: the identity provider has already
// authenticated the person, so no password is checked and no throttle counted. The session's
// principal carries the user's roles as stored here (the ones admins manage), exactly as a
// password sign-in's does, so it appears among the user's devices and is revoked the same way. It
// returns ErrExternalUserUnknown (recorded as a failed sign-in, nothing created) when there is no
// such enabled user; ErrDeviceRevoked when the device was revoked; an *apperr.Error Invalid for a
// malformed device id or name, Conflict when the user changed while their password was being
// removed (below); or the store's or recorder's error.
//
// A user who has not yet chosen their own password (PasswordChangeRequired: an admin set it) and
// signs in through the provider becomes a user of the provider only: the password someone else set
// is removed (so it can no longer be used, and the console asks for no password change); an admin's
// password reset gives them one again.
func (s *Service) ExternalLogin(ctx context.Context, req ExternalLoginRequest) (Tokens, Principal, error) {
	now := s.clock()
	var fe fieldErrors
	fe.deviceID("device_id", req.DeviceID)
	fe.MaxLength("device_name", req.DeviceName, maxDeviceNameLen)
	if err := fe.Err(); err != nil {
		return Tokens{}, Principal{}, err
	}
	username := NormalizeUsername(req.Username)
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the user: %w", err)
	}
	if err != nil || username == "" || u.OrgID != req.OrgID || u.Disabled {
		e := audit.Event{OrgID: req.OrgID, DeviceID: req.DeviceID, Action: ActionLoginFailed, ResourceType: ResourceUser,
			Outcome: audit.OutcomeFailure}
		if err == nil && u.OrgID == req.OrgID { // a disabled user of this organisation: name them in its log
			e.ActorID, e.ActorRole, e.ResourceID = u.ID, roleList(u.Roles), u.ID
		}
		if rerr := s.record(ctx, e); rerr != nil {
			return Tokens{}, Principal{}, rerr
		}
		return Tokens{}, Principal{}, ErrExternalUserUnknown
	}
	if u.PasswordChangeRequired {
		if u, err = s.becomeProviderUser(ctx, u, now); err != nil {
			return Tokens{}, Principal{}, err
		}
	}
	d, err := s.store.Device(ctx, u.OrgID, req.DeviceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the device: %w", err)
	}
	if err == nil && d.RevokedAt != nil {
		return Tokens{}, Principal{}, s.loginOnRevokedDevice(ctx, u, LoginRequest{DeviceID: req.DeviceID})
	}
	d, err = s.store.UpsertDevice(ctx, Device{ID: req.DeviceID, OrgID: u.OrgID, UserID: u.ID,
		Name: strings.TrimSpace(req.DeviceName), CreatedAt: now, LastSeenAt: now})
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("recording the device: %w", err)
	}
	if d.RevokedAt != nil {
		return Tokens{}, Principal{}, s.loginOnRevokedDevice(ctx, u, LoginRequest{DeviceID: req.DeviceID})
	}
	ttl := s.cfg.RefreshTTL
	if req.SessionTTL > 0 {
		ttl = min(req.SessionTTL, ttl)
	}
	tokens, p, err := s.startSession(ctx, u, d.ID, now, ttl)
	if err != nil {
		return Tokens{}, Principal{}, err
	}
	if err := s.record(ctx, eventBy(p, ActionLogin, ResourceSession, p.SessionID, audit.OutcomeSuccess)); err != nil {
		_ = s.store.RevokeSession(ctx, p.SessionID, now) // best effort: the tokens are never handed out
		return Tokens{}, Principal{}, err
	}
	return tokens, p, nil
}

// becomeProviderUser removes the password an admin set for u (see ExternalLogin) and records it.
func (s *Service) becomeProviderUser(ctx context.Context, u User, now time.Time) (User, error) {
	u.PasswordHash, u.PasswordChangeRequired, u.UpdatedAt, u.Version = "", false, now, u.Version+1
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, s.updateFailed(ctx, u.OrgID, u.ID, err)
	}
	s.auth.dropUser(u.OrgID, u.ID)
	e := audit.Event{OrgID: u.OrgID, ActorID: u.ID, ActorRole: roleList(u.Roles), Action: ActionUserUpdated,
		ResourceType: ResourceUser, ResourceID: u.ID, Outcome: audit.OutcomeSuccess}
	if err := s.record(ctx, e); err != nil {
		return User{}, err
	}
	return u, nil
}
