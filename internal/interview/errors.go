package interview

import (
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Store sentinels. The Service wraps them in *apperr.Error values, so errors.Is(err, ErrNotFound)
// also holds for the NotFound errors the Service returns.
var (
	// ErrNotFound is returned by the Store when a session or its log does not exist.
	ErrNotFound = errors.New("interview: not found")
	// ErrExists is returned by Store.CreateSession when the id is taken.
	ErrExists = errors.New("interview: already exists")
	// ErrStale is returned by Store.UpdateSession when the stored version is not the expected one.
	ErrStale = errors.New("interview: stale version")
	// ErrLogClosed is returned by Store.AppendLog when the log is closed (the session is under review
	// or approved).
	ErrLogClosed = errors.New("interview: log closed")
	// ErrLogFull is returned by Store.AppendLog when the entries would take the log over MaxLogEntries.
	ErrLogFull = errors.New("interview: log full")
)

// StaleError carries the current session when a write named an outdated version, so the HTTP layer
// can answer 409 with the current record. The Service returns it wrapped in an *apperr.Error of kind
// Conflict (code version_conflict); get it with errors.As. It unwraps to ErrStale.
type StaleError struct {
	Current View
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("interview: session %s is at version %d", e.Current.Session.ID, e.Current.Session.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errSessionNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "interview_not_found", MessageID: "ErrInterviewNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errSessionIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "interview_id_conflict", MessageID: "ErrInterviewIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errSessionStale(current View) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrInterviewVersionConflict",
		Data: map[string]any{"Version": current.Session.Version}, Err: &StaleError{Current: current}}
}

// errNotEditable: the session is under review or approved, so it cannot be changed.
func errNotEditable(status Status) error {
	id := "ErrInterviewUnderReview"
	if status == StatusApproved {
		id = "ErrInterviewApproved"
	}
	return apperr.New(apperr.Invalid, "interview_locked", id, map[string]any{"Status": string(status)})
}

// errNotInReview: only a submitted or resubmitted session can be reviewed.
func errNotInReview(status Status) error {
	return apperr.New(apperr.Invalid, "interview_status", "ErrInterviewNotInReview", map[string]any{"Status": string(status)})
}

// errNotApproved: only an approved session takes addenda.
func errNotApproved(status Status) error {
	return apperr.New(apperr.Invalid, "interview_status", "ErrInterviewNotApproved", map[string]any{"Status": string(status)})
}

func errNotInterviewer() error {
	return apperr.New(apperr.Forbidden, "not_interviewer", "ErrNotInterviewer", nil)
}

func errOwnInterview() error {
	return apperr.New(apperr.Forbidden, "own_interview", "ErrOwnInterview", nil)
}

func errNotInterviewProtocol(id string) error {
	return apperr.Validation(apperr.FieldError{Field: "protocol_id", Code: "not_interview", MessageID: "field.not_interview_protocol",
		Data: map[string]any{"ID": id}})
}

func errLogFull() error {
	return apperr.New(apperr.Invalid, "interview_log_full", "ErrInterviewLogFull", map[string]any{"Max": MaxLogEntries})
}

// errClientIDReused: a log entry's client id is held for an entry of other content (field names it).
func errClientIDReused(field string, held View) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "client_id_conflict", MessageID: "ErrClientIDConflict",
		Fields: []apperr.FieldError{{Field: field, Code: "reused", MessageID: "field.client_id_reused"}}, Err: &StaleError{Current: held}}
}

func errShared() error {
	return apperr.New(apperr.Conflict, "interview_shared", "ErrInterviewShared", nil)
}
