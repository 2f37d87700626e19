// Package casework holds cases (a child, the forms of abuse involved, who works on it) and protocol
// runs (a case working through one published protocol version, step by step, append-only).
//
// Access is decided in one place (authorize): a caseworker sees and changes only the cases they are
// assigned to, a supervisor every case of their organisation; content editors, admins and auditors
// get no case data (identity.ErrForbidden). A case of another organisation, or one a caseworker is
// not assigned to, is answered as not found (never 403), so its existence does not leak.
//
// Every read and write of case data is recorded through the audit.Recorder; when recording fails, the
// operation fails. Errors for clients are *apperr.Error values: Invalid with field errors (field names
// as the API spells them, in snake_case), NotFound (case_not_found, run_not_found), Conflict
// (case_id_conflict, run_id_conflict, and version_conflict wrapping a *StaleError with the current case).
package casework
