// Package caseflag keeps the manual flags of cases: a caseworker or supervisor raises a flag (risk to
// the child, safeguarding concern, media attention, special needs, acute, other) on a case they may
// see, saying why; it stays on the case, shown in case lists and usable as a list filter, until
// someone resolves it, again saying why. Flags are never deleted: a resolved flag keeps who raised and
// resolved it, when and why. Reasons are free text, encrypted at rest under the case's data key.
//
// The flag "acute" (the abuse was recent, for example within the last 72 hours) is also what the
// time standards of package appointment read to decide whether a case needs an urgent medical
// examination.
//
// Errors for clients are *apperr.Error values: NotFound (case_not_found, flag_not_found) for cases or
// flags the caller may not see or that do not exist; Invalid with field errors for bad values;
// Conflict for a client id taken by another flag (flag_id_conflict), a stale version
// (version_conflict, wrapping a *StaleError with the current flag) or a flag already resolved
// (flag_resolved); identity.ErrForbidden for roles without case access.
package caseflag
