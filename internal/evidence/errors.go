package evidence

import (
	"errors"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels. The Service wraps them in *apperr.Error values where a client sees them.
var (
	// ErrNotFound is returned by the Store when an item does not exist.
	ErrNotFound = errors.New("evidence: not found")
	// ErrExists is returned by Store.CreateItem when the id is taken.
	ErrExists = errors.New("evidence: already exists")
	// ErrSeqTaken is matched by the *SeqTakenError Store.InsertEvents returns when an event's
	// sequence number is already taken (another writer appended first).
	ErrSeqTaken = errors.New("evidence: sequence number already taken")
)

// SeqTakenError says how many events, from the first, Store.InsertEvents stored before it met a
// sequence number that was already taken. errors.Is(err, ErrSeqTaken) holds.
type SeqTakenError struct {
	Written int
	Seq     int64
}

// Error describes the collision.
func (e *SeqTakenError) Error() string {
	return "evidence: sequence number already taken: " + itoa(e.Seq)
}

// Is reports whether target is ErrSeqTaken.
func (e *SeqTakenError) Is(target error) bool { return target == ErrSeqTaken }

func errItemNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "evidence_item_not_found", MessageID: "ErrEvidenceItemNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errItemIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "evidence_item_id_conflict", MessageID: "ErrEvidenceItemIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errEventIDConflict(id string) error {
	return apperr.New(apperr.Conflict, "custody_event_id_conflict", "ErrCustodyEventIDConflict", map[string]any{"ID": id})
}

func errLegalHold(id string) error {
	return apperr.New(apperr.Conflict, "legal_hold", "ErrEvidenceLegalHold", map[string]any{"ID": id})
}

func errItemDestroyed(id string) error {
	return apperr.New(apperr.Conflict, "evidence_item_destroyed", "ErrEvidenceItemDestroyed", map[string]any{"ID": id})
}

func errCaseClosed(id string) error {
	return apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": id})
}

func errChainBusy(id string) error {
	return apperr.New(apperr.Unavailable, "custody_chain_busy", "ErrDatabaseUnavailable", map[string]any{"ID": id})
}

func errCorrectsUnknown(seq int64) error {
	return apperr.Validation(apperr.FieldError{Field: "corrects_seq", Code: "unknown_event", MessageID: "field.evidence_unknown_event",
		Data: map[string]any{"Seq": seq}})
}

func errChainFull(id string) error {
	return apperr.New(apperr.Invalid, "custody_chain_full", "ErrCustodyChainFull", map[string]any{"ID": id, "Max": maxEventsPerItem})
}
