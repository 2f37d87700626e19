package referral

import (
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels.
var (
	// ErrNotFound is returned by the Store when a referral does not exist.
	ErrNotFound = errors.New("referral: not found")
	// ErrExists is returned by Store.CreateReferral when the id is taken.
	ErrExists = errors.New("referral: already exists")
	// ErrStale is returned by Store.UpdateReferral when the stored version is not the expected one.
	ErrStale = errors.New("referral: stale version")
)

// StaleError carries the current referral (as the caller may see it) when a write named an outdated
// version. It unwraps to ErrStale; the Service returns it inside an *apperr.Error Conflict
// (version_conflict). Receiver says which side's view Current is.
type StaleError struct {
	Current  Referral
	Receiver bool
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("referral: %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "referral_not_found", MessageID: "ErrReferralNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "referral_id_conflict", MessageID: "ErrReferralIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errIDReused(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "referral_id_conflict", MessageID: "ErrReferralIDReused",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errStale(current Referral, receiver bool) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrReferralVersionConflict",
		Data: map[string]any{"Version": current.Version}, Err: &StaleError{Current: current, Receiver: receiver}}
}

// errStatus refuses a step the referral's status does not allow.
func errStatus(s Status) error {
	return apperr.New(apperr.Conflict, "referral_status", "ErrReferralStatus", map[string]any{"Status": apperr.Label("referral.status." + string(s))})
}

// errConsentRequired refuses a sharing no current consent covers: 422 with a field error on parts.
func errConsentRequired() error {
	return &apperr.Error{Kind: apperr.Unprocessable, Code: "consent_required", MessageID: "ErrReferralConsentRequired",
		Fields: []apperr.FieldError{{Field: "parts", Code: "consent_required", MessageID: "field.consent_required"}}}
}

// errConsentWithdrawn refuses accepting a referral whose consent no longer stands.
func errConsentWithdrawn() error {
	return &apperr.Error{Kind: apperr.Unprocessable, Code: "consent_withdrawn", MessageID: "ErrReferralConsentWithdrawn",
		Fields: []apperr.FieldError{{Field: "parts", Code: "consent_withdrawn", MessageID: "field.consent_withdrawn"}}}
}

func errCaseClosed() error {
	return apperr.New(apperr.Invalid, "case_closed", "ErrReferralCaseClosed", nil)
}
