package devicesync

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// The push operations of interview sessions, applied through interview.Service (which checks case
// access and that only the interviewer writes, validates, and records every write in the audit log).
//
//	interview_session create  Payload interview.NewSession (ID = the session id, CaseID)
//	interview_session append  Payload interview.Entries (ID = the session id, CaseID): prompts, breaks,
//	                          wellbeing checks and checklist marks; never conflicts, idempotent by
//	                          each entry's client id

// TypeInterviewSession is the record type of interview sessions.
const TypeInterviewSession = "interview_session"

// InterviewSession is the Data of an interview session record: the session with its log, as a
// device keeps it (the checklist and quality are computed from them and the pinned protocol version,
// which the device has from the library).
type InterviewSession struct {
	Session interview.Session
	Log     interview.Log
}

// InterviewRecord returns a session and its log as a sync record.
func InterviewRecord(s interview.Session, l interview.Log) Record {
	at := s.UpdatedAt
	for _, p := range l.Prompts {
		at = later(at, p.ReceivedAt)
	}
	for _, b := range l.Breaks {
		at = later(at, b.ReceivedAt)
	}
	for _, c := range l.Checks {
		at = later(at, c.ReceivedAt)
	}
	for _, m := range l.Marks {
		at = later(at, m.ReceivedAt)
	}
	if !l.Open {
		at = later(at, l.ClosedAt)
	}
	return Record{Type: TypeInterviewSession, ID: s.ID, OrgID: s.OrgID, CaseID: s.CaseID, Version: s.Version, UpdatedAt: at,
		Data: InterviewSession{Session: s, Log: l}}
}

// InterviewApplier applies interview session operations.
type InterviewApplier struct{ Interviews *interview.Service }

// Check validates a session create or a log append, taking the cases and sessions created earlier
// in the group into account. It returns interview's errors.
func (a InterviewApplier) Check(ctx context.Context, p identity.Principal, op Operation, created map[string]map[string]bool) error {
	switch op.Action {
	case ActionCreate:
		ns, ok := op.Payload.(interview.NewSession)
		if !ok {
			return badPayload("data")
		}
		ns.ID = op.ID
		return a.Interviews.CheckCreate(ctx, p, op.CaseID, created[TypeCase][op.CaseID], ns)
	case ActionAppend:
		e, ok := op.Payload.(interview.Entries)
		if !ok {
			return badPayload("data")
		}
		return a.Interviews.CheckAppendLog(ctx, p, op.CaseID, op.ID, created[TypeInterviewSession][op.ID], e)
	}
	return errAction(op.Action)
}

// Apply creates a session (a retried create with the same content is a no-op) or appends log
// entries (those whose client ids the log holds are left out, so a retry adds nothing; appends
// never conflict). It returns interview's errors.
func (a InterviewApplier) Apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	var (
		v   interview.View
		err error
	)
	switch op.Action {
	case ActionCreate:
		ns, ok := op.Payload.(interview.NewSession)
		if !ok {
			return Result{}, badPayload("data")
		}
		ns.ID = op.ID
		v, _, err = a.Interviews.Create(ctx, p, op.CaseID, ns)
	case ActionAppend:
		e, ok := op.Payload.(interview.Entries)
		if !ok {
			return Result{}, badPayload("data")
		}
		v, err = a.Interviews.AppendLog(ctx, p, op.CaseID, op.ID, e)
	default:
		return Result{}, errAction(op.Action)
	}
	if err != nil {
		return Result{}, err
	}
	rec := InterviewRecord(v.Session, v.Log)
	return Result{Status: StatusApplied, ID: v.Session.ID, Record: &rec}, nil
}
