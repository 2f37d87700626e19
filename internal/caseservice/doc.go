// Package caseservice records the services a child receives on a case and their outcomes, per
// discipline, with a localized vocabulary: a medical examination (done, follow-up needed), therapy
// and psychosocial support (status, sessions attended), victim advocacy, a child protection
// assessment (its outcome, whether a safety plan is in place) and legal proceedings (charges filed,
// court dates, disposition). Each record has a status (planned, in progress, completed, declined,
// cancelled), the provider and notes (both free text, encrypted at rest under the case's data key),
// and a version: a change at an outdated version gets a Conflict with the current record.
//
// Outcome fields belong to their discipline: sending one of another discipline is a field error.
//
// Errors for clients are *apperr.Error values: NotFound (case_not_found, service_not_found) for
// records the caller may not see or that do not exist; Invalid with field errors for bad values;
// Conflict for a client id taken by another record (service_id_conflict) or a stale version
// (version_conflict, wrapping a *StaleError with the current record); identity.ErrForbidden for roles
// without case access.
package caseservice
