package authoring

import (
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// StaleError carries the current draft when a write named an outdated version; the Service returns
// it wrapped in an *apperr.Error Conflict (version_conflict). It unwraps to ErrStale.
type StaleError struct {
	Current Draft
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("authoring: draft %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errDraftNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "draft_not_found", MessageID: "ErrDraftNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errDraftIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "draft_id_conflict", MessageID: "ErrDraftIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errDraftStale(cur Draft) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrDraftVersionConflict",
		Data: map[string]any{"Version": cur.Version}, Err: &StaleError{Current: cur}}
}

func errWrongStatus(cur Draft, want Status) error {
	return apperr.New(apperr.Invalid, "draft_status", "ErrDraftStatus",
		map[string]any{"Status": apperr.Label("draft.status." + string(cur.Status)), "Want": apperr.Label("draft.status." + string(want))})
}

func errOwnReview() error {
	return apperr.New(apperr.Forbidden, "own_draft", "ErrDraftOwnReview", nil)
}

func errDraftOutdated(base, latest int) error {
	return apperr.New(apperr.Conflict, "draft_outdated", "ErrDraftOutdated", map[string]any{"Base": base, "Latest": latest})
}

func errIncomplete(locales string) error {
	return apperr.New(apperr.Invalid, "translations_incomplete", "ErrDraftIncomplete", map[string]any{"Locales": locales})
}

func errRetired(id string) error {
	return apperr.New(apperr.Conflict, "protocol_retired", "ErrProtocolRetired", map[string]any{"ID": id})
}
