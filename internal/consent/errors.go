package consent

import (
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels.
var (
	// ErrNotFound is returned by the Store when a consent does not exist.
	ErrNotFound = errors.New("consent: not found")
	// ErrExists is returned by Store.CreateConsent when the id is taken.
	ErrExists = errors.New("consent: already exists")
	// ErrStale is returned by Store.WithdrawConsent when the stored consent changed.
	ErrStale = errors.New("consent: stale version")
)

// StaleError carries the current consent when a withdrawal named an outdated version (or the
// consent was withdrawn already). It unwraps to ErrStale; the Service returns it inside an
// *apperr.Error Conflict (version_conflict).
type StaleError struct {
	Current Consent
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("consent: %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "consent_not_found", MessageID: "ErrConsentNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "consent_id_conflict", MessageID: "ErrConsentIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

// errIDReused is the refusal of a create repeating a consent's id on its case with other content
// (a retry sends the same content).
func errIDReused(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "consent_id_conflict", MessageID: "ErrConsentIDReused",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errStale(current Consent) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrConsentVersionConflict",
		Data: map[string]any{"Version": current.Version}, Err: &StaleError{Current: current}}
}
