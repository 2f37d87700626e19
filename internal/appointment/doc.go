// Package appointment keeps the appointments of cases (forensic interviews, medical examinations,
// therapy, court, other) and the multidisciplinary case review meetings, measures each case against
// the agency's time standards, and lists the follow-up actions that review meetings decide.
//
// # Appointments
//
// An appointment has a kind, a time and a duration, a place, participants (users by id, and named
// people from outside the service with their role), a status (scheduled, done, cancelled, missed)
// and notes. It belongs to the organisation that made it and names the cases it is about: exactly
// one for every kind but case_review, one or more (up to MaxReviewCases) for a case review meeting.
// Writes are versioned: a write at an outdated version gets a Conflict with the current appointment.
//
// # Who sees what
//
// Supervisors see and change every appointment of their organisation; caseworkers those about
// cases assigned to them and those they take part in. Case review meetings are made and changed by
// supervisors only. A meeting may list attendees of other organisations (their user ids, or named
// outsiders), but no organisation other than the organiser's sees the meeting, its cases, decisions
// or actions: data never leaves an organisation except through a referral. For the same reason the
// actions a meeting decides are assigned to users of the organiser's organisation only.
//
// # Time standards
//
// Standards are data (DefaultStandards, or a TIME_STANDARDS_FILE): each names an appointment kind and
// how many hours after first contact (the case's opening) it must have happened, and optionally
// applies only to cases with an unresolved flag (for example "acute"). Per case and standard the
// measure is met (done in time), late (done after the deadline), scheduled (booked in time, not yet
// due), pending (nothing booked in time, not yet due) or overdue (the deadline passed with nothing
// done). Overdue measures are shown on the case (GET /v1/cases/{id}/time-standards), in the
// supervisor's worklist, and counted in the statistics.
//
// Errors for clients are *apperr.Error values: NotFound (case_not_found, appointment_not_found) for
// records the caller may not see or that do not exist; Invalid with field errors for bad values;
// Conflict for a client id taken by another appointment (appointment_id_conflict) or a stale version
// (version_conflict, wrapping a *StaleError with the current appointment); identity.ErrForbidden for
// roles without case access, and for caseworkers making or changing case review meetings.
package appointment
