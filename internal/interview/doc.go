// Package interview holds guided interview sessions with a child: a session on a case, made from a
// pinned version of an interview protocol and the child's age band and needs (its checklist is the
// steps and items that apply, with the example phrasings for the age band); its plan (date, place,
// participants, recording, consent); its log (prompts by type, breaks, wellbeing checks and checklist
// marks, appended in idempotent batches); the quality measures and flags the server computes from
// them by rules that are data (Rules); the review workflow (draft, submitted, returned, resubmitted,
// approved; approved sessions are locked and corrected only by addenda); the supervisors' review
// queue; and the coaching report of an interviewer's prompt quality per month.
//
// Access to the case is checked by the case service (CaseAccess): caseworkers assigned to the case
// and the organisation's supervisors see its sessions; only the session's interviewer changes a draft
// or a returned session; only a supervisor of the organisation who is not the interviewer reviews.
// Every read and write of session data is recorded through the audit.Recorder; when recording fails, the
// operation fails. Errors for clients are *apperr.Error values (see errors.go).
package interview
