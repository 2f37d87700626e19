package httpapi

import (
	"strconv"

	"github.com/go-playground/validator/v10"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/erasure"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// domainLimits are the length and count limits the domain packages hold, by the validation tag a
// request body names them with: each tag is registered at start as an alias of "max=" the domain's
// constant, so a limit has one source (the domain) and the HTTP layer refuses a value over it
// before the domain sees it, with the same field error as a plain max tag ("max", localized as
// field.max_length for text and field.max for lists). A body field whose limit the domain holds
// names the domain's tag, never the number.
var domainLimits = map[string]int{
	"max_language": apperr.MaxLanguageLen,

	"max_case_reference":  casework.MaxReferenceLen,
	"max_pseudonym":       casework.MaxPseudonymLen,
	"max_case_notes":      casework.MaxNotesLen,
	"max_case_reason":     casework.MaxReasonLen,
	"max_user_id":         casework.MaxUserIDLen,
	"max_caseworkers":     casework.MaxCaseworkers,
	"max_step_client_id":  casework.MaxClientIDLen,
	"max_step_id":         casework.MaxStepIDLen,
	"max_run_protocol_id": casework.MaxProtocolIDLen,

	"max_erasure_reason": erasure.MaxReasonLen,

	"max_authoring_protocol_id": authoring.MaxProtocolIDLen,
	"max_authoring_comment":     authoring.MaxCommentLen,
	"max_authoring_files":       authoring.MaxFiles,

	"max_evidence_description": evidence.MaxDescriptionLen,
	"max_evidence_note":        evidence.MaxNoteLen,
	"max_evidence_text":        evidence.MaxTextLen,
	"max_evidence_short":       evidence.MaxShortLen,
	"max_evidence_number":      evidence.MaxNumberLen,
	"max_evidence_hashes":      evidence.MaxHashes,

	"max_interview_id":            interview.MaxIDLen,
	"max_interview_client_id":     interview.MaxClientIDLen,
	"max_interview_name":          interview.MaxNameLen,
	"max_interview_place":         interview.MaxPlaceLen,
	"max_interview_note":          interview.MaxNoteLen,
	"max_interview_words":         interview.MaxWordsLen,
	"max_interview_comment":       interview.MaxCommentLen,
	"max_interview_participants":  interview.MaxParticipants,
	"max_interview_item_comments": interview.MaxItemComments,
	"max_interview_batch":         interview.MaxBatch,

	"max_sync_operations": devicesync.MaxOperations,
	"max_sync_page":       devicesync.MaxPageSize,
}

// registerLimits registers domainLimits as validation tags of v.
func registerLimits(v *validator.Validate) {
	for tag, n := range domainLimits {
		v.RegisterAlias(tag, "max="+strconv.Itoa(n))
	}
}
