// Package erasure erases a child's case when the retention policy allows it, with two people: a
// supervisor requests the erasure of a case with a reason, and an administrator of the same
// organisation, another person, confirms it with a reason (or rejects it). Confirming destroys the
// case's data key (see internal/mongodb, case keys), so every encrypted field of the case, its runs,
// interviews, evidence items and custody events becomes unrecoverable; the clear-text details that
// could help identify the child (birth year, gender, languages) are cleared. What is kept: ids,
// times, statuses, age band and case types, hashes (custody chains still verify by their links,
// head, checkpoints and receipts), and the audit log, which shows who requested, confirmed and when.
//
// # Retention policy
//
// A case may be erased when it is closed, RetainAfterClose has passed since it was closed, none of
// its evidence items is under legal hold, and no referral sent from or received into it is open. There
// is no override: an agency that must erase sooner (a court order) shortens RETENTION_AFTER_CLOSE,
// which applies to every case. Due lists the cases the policy allows to erase now.
//
// Errors for clients are *apperr.Error values: NotFound (case_not_found, erasure_request_not_found)
// for records of another organisation or none; Conflict for a refusal by the policy
// (erasure_case_open, erasure_retention_running, erasure_legal_hold), a pending request
// (erasure_request_pending), a decided request (erasure_request_decided), the same person confirming
// (erasure_same_person); Invalid for a missing reason; identity.ErrForbidden for other roles.
package erasure
