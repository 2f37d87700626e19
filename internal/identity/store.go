package identity

import (
	"context"
	"time"
)

// SessionHashHistory is how many rotated refresh-token hashes a session keeps for reuse detection
// (about a day of refreshes at one per 15 minutes). A token older than that is merely unknown.
const SessionHashHistory = 100

// Store persists organisations, users, devices, sessions and throttle counters. Every method returns
// the sentinels documented on it, or another error (wrapping the driver's) when the database fails.
type Store interface {
	ThrottleStore

	// CreateOrganisation stores a new organisation; ErrExists when its id is taken.
	CreateOrganisation(ctx context.Context, o Organisation) error
	// Organisation returns an organisation, or ErrNotFound.
	Organisation(ctx context.Context, id string) (Organisation, error)
	// ListOrganisations returns up to limit organisations of the deployment with ids after afterID,
	// by id.
	ListOrganisations(ctx context.Context, afterID string, limit int) ([]Organisation, error)
	// UpdateOrganisation replaces the name, service kinds, contact, update time and version of
	// organisation o.ID when its stored version is o.Version-1; ErrStale when it is not, ErrNotFound
	// when there is no such organisation.
	UpdateOrganisation(ctx context.Context, o Organisation) error

	// CountUsers returns the number of users in the deployment.
	CountUsers(ctx context.Context) (int64, error)
	// CreateUser stores a new user; ErrUsernameTaken when the (lower-case) username is in use
	// anywhere in the deployment.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns a user of organisation orgID; ErrNotFound when there is none (including when
	// the id belongs to another organisation).
	UserByID(ctx context.Context, orgID, id string) (User, error)
	// UserByUsername returns the user with that username (any organisation; compared lower-cased),
	// or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (User, error)
	// ListUsers returns up to limit users of organisation orgID with ids after afterID, by id.
	ListUsers(ctx context.Context, orgID, afterID string, limit int) ([]User, error)
	// UpdateUser replaces display name, roles, disabled flag, password hash, password-change flag,
	// locale and updated time of
	// u.ID when its stored version is u.Version-1, storing u.Version. ErrStale when the version
	// differs, ErrNotFound when the user does not exist in u.OrgID.
	UpdateUser(ctx context.Context, u User) error

	// UpsertDevice creates the device, or sets its user, last-seen time and (when d.Name is not
	// empty) name. It never changes RevokedAt. It returns the device as stored afterwards.
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	// Device returns a device of organisation orgID, or ErrNotFound.
	Device(ctx context.Context, orgID, id string) (Device, error)
	// ListDevices returns the devices of organisation orgID used by userID ("" = all), by id.
	ListDevices(ctx context.Context, orgID, userID string) ([]Device, error)
	// RevokeDevice marks a device revoked at at (keeping an earlier revocation time); ErrNotFound
	// when it does not exist.
	RevokeDevice(ctx context.Context, orgID, id string, at time.Time) error

	// CreateSession stores a new session; ErrExists when its id is taken.
	CreateSession(ctx context.Context, s Session) error
	// Session returns a session, or ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)
	// RotateSession replaces the token hash oldHash of an unrevoked session by newHash, appends
	// oldHash to PreviousHash (keeping the last SessionHashHistory), sets RefreshedAt to at and bumps
	// the version. ErrStale when the session's hash is no longer oldHash (it was rotated meanwhile)
	// or it was revoked; ErrNotFound when it does not exist.
	RotateSession(ctx context.Context, id, oldHash, newHash string, at time.Time) error
	// TouchSession sets RefreshedAt of an unrevoked session to at (the console's idle timeout counts
	// from it); touching an unknown or revoked session does nothing.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession marks a session revoked at at (keeping an earlier revocation time). Revoking an
	// unknown session does nothing.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeDeviceSessions revokes every unrevoked session of a device.
	RevokeDeviceSessions(ctx context.Context, orgID, deviceID string, at time.Time) error
	// RevokeUserSessions revokes every unrevoked session of a user.
	RevokeUserSessions(ctx context.Context, orgID, userID string, at time.Time) error
	// DeleteSessionsExpiredBefore deletes every session whose refresh token expired before t and
	// returns how many it deleted.
	DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int64, error)
	// DeleteFailuresBefore deletes every throttle counter whose last failure is before t and returns
	// how many it deleted.
	DeleteFailuresBefore(ctx context.Context, t time.Time) (int64, error)
}
