package erasure

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

func errCaseNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "case_not_found", MessageID: "ErrCaseNotFound", Data: map[string]any{"ID": id}}
}

func errRequestNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "erasure_request_not_found", MessageID: "ErrErasureRequestNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errCaseOpen() error {
	return apperr.New(apperr.Conflict, "erasure_case_open", "ErrErasureCaseOpen", nil)
}

func errRetentionRunning(until time.Time) error {
	return apperr.New(apperr.Conflict, "erasure_retention_running", "ErrErasureRetentionRunning",
		map[string]any{"Until": until.UTC().Format(time.DateOnly)})
}

func errLegalHold(n int) error {
	return apperr.New(apperr.Conflict, "erasure_legal_hold", "ErrErasureLegalHold", map[string]any{"Count": n})
}

func errReferralOpen() error {
	return apperr.New(apperr.Conflict, "erasure_referral_open", "ErrErasureReferralOpen", nil)
}

func errPending(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "erasure_request_pending", MessageID: "ErrErasureRequestPending",
		Data: map[string]any{"ID": id}, Err: ErrPending}
}

func errDecided(status Status) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "erasure_request_decided", MessageID: "ErrErasureRequestDecided",
		Data: map[string]any{"Status": apperr.Label("erasure.status." + string(status))}, Err: ErrDecided}
}

func errSamePerson() error {
	return apperr.New(apperr.Conflict, "erasure_same_person", "ErrErasureSamePerson", nil)
}

func errReason() error {
	return apperr.Validation(apperr.FieldError{Field: "reason", Code: "required", MessageID: "field.required"})
}
