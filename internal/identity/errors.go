package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels. The Service wraps ErrNotFound and ErrStale in *apperr.Error values (NotFound,
// Conflict), so errors.Is(err, ErrNotFound) also holds for the errors the Service returns.
var (
	// ErrNotFound is returned when a record does not exist or belongs to another organisation.
	ErrNotFound = errors.New("identity: not found")
	// ErrUsernameTaken is returned by Store.CreateUser when the username is already in use.
	ErrUsernameTaken = errors.New("identity: username taken")
	// ErrStale is returned by conditional writes when the stored record changed since it was read
	// (a version or a refresh-token hash no longer matches).
	ErrStale = errors.New("identity: stale version")
	// ErrExists is returned by Store.CreateOrganisation and Store.CreateSession when the id is taken.
	ErrExists = errors.New("identity: already exists")
)

// Denial is a refusal to authenticate or authorize a caller. It is a constant, so compare with
// errors.Is (or errors.As into a Denial). The HTTP layer maps ErrForbidden to 403 and every other
// Denial to 401 (ErrPasswordChangeRequired to 403 too); Code and MessageID give the problem's stable code and message id.
type Denial string

// The denials.
const (
	// ErrBadCredentials: unknown user, disabled user or wrong password (deliberately one error). 401.
	ErrBadCredentials Denial = "bad_credentials"
	// ErrSessionInvalid: the refresh token (or the session of an access token) is unknown, expired,
	// revoked or was reused, or its user was disabled. 401: sign in again.
	ErrSessionInvalid Denial = "session_invalid"
	// ErrDeviceRevoked: the device was revoked. 401, and the app must wipe its local data.
	ErrDeviceRevoked Denial = "device_revoked"
	// ErrForbidden: the caller's roles do not allow the operation. 403.
	ErrForbidden Denial = "forbidden"
	// ErrPasswordChangeRequired: the caller must change their password (POST /v1/me/password) before
	// anything else. 403.
	ErrPasswordChangeRequired Denial = "password_change_required"
)

// Error returns a developer-facing description.
func (d Denial) Error() string { return "identity: " + string(d) }

// Code returns the stable problem code.
func (d Denial) Code() string { return string(d) }

// MessageID returns the go-i18n message id of the localized detail.
func (d Denial) MessageID() string {
	switch d {
	case ErrBadCredentials:
		return "ErrBadCredentials"
	case ErrSessionInvalid:
		return "ErrSessionInvalid"
	case ErrDeviceRevoked:
		return "ErrDeviceRevoked"
	case ErrForbidden:
		return "ErrForbidden"
	case ErrPasswordChangeRequired:
		return "ErrPasswordChangeRequired"
	default:
		return "ErrInternal"
	}
}

// LockedError says a sign-in was refused because the account or the client address is locked after
// too many failures. The HTTP layer maps it to 429 with a Retry-After header (whole seconds).
type LockedError struct {
	RetryAfter time.Duration // how long until the lock ends, rounded up to a whole second
}

// Error returns a developer-facing description.
func (e *LockedError) Error() string {
	return fmt.Sprintf("identity: sign-in locked for %s", e.RetryAfter)
}

// Code returns the stable problem code.
func (e *LockedError) Code() string { return "too_many_attempts" }

// MessageID returns the go-i18n message id of the localized detail.
func (e *LockedError) MessageID() string { return "ErrTooManyAttempts" }

// StaleError carries the current user when an update named an outdated version, so the HTTP layer
// can answer 409 with the current record. The Service returns it wrapped in an *apperr.Error of kind
// Conflict; get it with errors.As. It unwraps to ErrStale.
type StaleError struct {
	Current User // password hash removed
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("identity: user %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errUserNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "user_not_found", MessageID: "ErrUserNotFound", Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errDeviceNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "device_not_found", MessageID: "ErrDeviceNotFound", Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errUserStale(current User) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrUserVersionConflict",
		Data: map[string]any{"Version": current.Version}, Err: &StaleError{Current: current}}
}

func errSelfLockout() error {
	return apperr.New(apperr.Invalid, "self_lockout", "ErrSelfLockout", nil)
}
