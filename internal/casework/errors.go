package casework

import (
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels. The Service wraps them in *apperr.Error values, so errors.Is(err, ErrNotFound)
// also holds for the NotFound errors the Service returns.
var (
	// ErrNotFound is returned by the Store when a case or run does not exist.
	ErrNotFound = errors.New("casework: not found")
	// ErrExists is returned by Store.CreateCase and Store.CreateRun when the id is taken.
	ErrExists = errors.New("casework: already exists")
	// ErrStale is returned by Store.UpdateCase when the stored version is not the expected one.
	ErrStale = errors.New("casework: stale version")
)

// StaleError carries the current case when a write named an outdated version, so the HTTP layer can
// answer 409 with the current record. The Service returns it wrapped in an *apperr.Error of kind
// Conflict (code version_conflict); get it with errors.As. It unwraps to ErrStale.
type StaleError struct {
	Current Case
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("casework: case %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errCaseNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "case_not_found", MessageID: "ErrCaseNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errRunNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "run_not_found", MessageID: "ErrRunNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errCaseIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "case_id_conflict", MessageID: "ErrCaseIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errRunIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "run_id_conflict", MessageID: "ErrRunIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errCaseStale(current Case) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrCaseVersionConflict",
		Data: map[string]any{"Version": current.Version}, Err: &StaleError{Current: current}}
}

func errCaseClosed(id string) error {
	return apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": id})
}

func errCaseNotClosed(id string) error {
	return apperr.New(apperr.Invalid, "case_not_closed", "ErrCaseNotClosed", map[string]any{"ID": id})
}
