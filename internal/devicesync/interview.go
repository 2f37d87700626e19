package devicesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
//	interview_session update  Payload SessionChanges, Base SessionChanges (the device's values before
//	                          its change), BaseVersion (ID = the session id, CaseID): merged field by
//	                          field like a case update; only a draft or returned session

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

// SessionChanges are the changed fields of an interview session that its interviewer may edit
// (the plan's fields one by one, participants, recording and consent each as a whole, and the
// times); nil fields are unchanged. Times are set, not cleared.
type SessionChanges struct {
	ScheduledAt       *time.Time
	Place             *string
	ChildFriendlyRoom *bool
	Participants      *[]interview.Participant // replaced as a whole
	Recording         *interview.Recording
	Consent           *interview.Consent
	StartedAt         *time.Time
	EndedAt           *time.Time
}

// sessionField is one field of a session an update may change, as the API names it.
type sessionField = field[interview.Session, SessionChanges]

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func timeCopy(t *time.Time) *time.Time {
	v := t.UTC().Truncate(time.Millisecond)
	return &v
}

var sessionFields = []sessionField{
	{"plan.scheduled_at", func(ch SessionChanges) bool { return ch.ScheduledAt != nil },
		func(s interview.Session, ch SessionChanges) bool { return sameTime(s.Plan.ScheduledAt, ch.ScheduledAt) },
		func(s *interview.Session, ch SessionChanges) { s.Plan.ScheduledAt = timeCopy(ch.ScheduledAt) }},
	{"plan.place", func(ch SessionChanges) bool { return ch.Place != nil },
		func(s interview.Session, ch SessionChanges) bool { return s.Plan.Place == *ch.Place },
		func(s *interview.Session, ch SessionChanges) { s.Plan.Place = *ch.Place }},
	{"plan.child_friendly_room", func(ch SessionChanges) bool { return ch.ChildFriendlyRoom != nil },
		func(s interview.Session, ch SessionChanges) bool {
			return s.Plan.ChildFriendlyRoom == *ch.ChildFriendlyRoom
		},
		func(s *interview.Session, ch SessionChanges) { s.Plan.ChildFriendlyRoom = *ch.ChildFriendlyRoom }},
	{"plan.participants", func(ch SessionChanges) bool { return ch.Participants != nil },
		func(s interview.Session, ch SessionChanges) bool {
			return slices.Equal(s.Plan.Participants, *ch.Participants)
		},
		func(s *interview.Session, ch SessionChanges) { s.Plan.Participants = slices.Clone(*ch.Participants) }},
	{"plan.recording", func(ch SessionChanges) bool { return ch.Recording != nil },
		func(s interview.Session, ch SessionChanges) bool { return s.Plan.Recording == *ch.Recording },
		func(s *interview.Session, ch SessionChanges) { s.Plan.Recording = *ch.Recording }},
	{"plan.consent", func(ch SessionChanges) bool { return ch.Consent != nil },
		func(s interview.Session, ch SessionChanges) bool { return s.Plan.Consent == *ch.Consent },
		func(s *interview.Session, ch SessionChanges) { s.Plan.Consent = *ch.Consent }},
	{"started_at", func(ch SessionChanges) bool { return ch.StartedAt != nil },
		func(s interview.Session, ch SessionChanges) bool { return sameTime(s.StartedAt, ch.StartedAt) },
		func(s *interview.Session, ch SessionChanges) { s.StartedAt = timeCopy(ch.StartedAt) }},
	{"ended_at", func(ch SessionChanges) bool { return ch.EndedAt != nil },
		func(s interview.Session, ch SessionChanges) bool { return sameTime(s.EndedAt, ch.EndedAt) },
		func(s *interview.Session, ch SessionChanges) { s.EndedAt = timeCopy(ch.EndedAt) }},
}

// toSessionUpdate is the update that gives a session want's values of the named fields: the whole
// plan when a plan field is named (the service replaces the plan as a whole), and the times.
func toSessionUpdate(want interview.Session, names []string) interview.SessionUpdate {
	var upd interview.SessionUpdate
	for _, name := range names {
		switch name {
		case "started_at":
			upd.StartedAt = want.StartedAt
		case "ended_at":
			upd.EndedAt = want.EndedAt
		default:
			plan := want.Plan
			upd.Plan = &plan
		}
	}
	return upd
}

// The kinds of interview session operations.
var (
	InterviewCreate = Kind[interview.NewSession]{TypeInterviewSession, ActionCreate}
	InterviewAppend = Kind[interview.Entries]{TypeInterviewSession, ActionAppend}
	InterviewUpdate = Kind[SessionChanges]{TypeInterviewSession, ActionUpdate}
)

// InterviewAppliers returns the handlers of interview session operations, applied through
// interviews: create (a retried create with the same content is a no-op), append log entries
// (those whose client ids the log holds are left out, so a retry adds nothing; appends never
// conflict), and update a draft or returned session at its base version: when the base is stale,
// the device's changes are merged if the server changed none of the same fields since (judged by
// op.Base, the device's values before its change), and a conflict with the server copy otherwise.
// Checks take the cases and sessions created earlier in the group into account. Their errors are
// interview's (a submitted or approved session is interview_locked).
func InterviewAppliers(interviews *interview.Service) []Applier {
	a := interviewApplier{interviews}
	return []Applier{
		Handle(InterviewCreate, Handler[interview.NewSession]{
			Check: func(ctx context.Context, p identity.Principal, op Op[interview.NewSession], created Created) error {
				ns := op.Data
				ns.ID = op.ID
				return interviews.CheckCreate(ctx, p, op.CaseID, created[TypeCase][op.CaseID], ns)
			},
			Apply: func(ctx context.Context, p identity.Principal, op Op[interview.NewSession]) (Result, error) {
				ns := op.Data
				ns.ID = op.ID
				v, _, err := interviews.Create(ctx, p, op.CaseID, ns)
				return applied(v, err)
			}}),
		Handle(InterviewAppend, Handler[interview.Entries]{
			Check: func(ctx context.Context, p identity.Principal, op Op[interview.Entries], created Created) error {
				return interviews.CheckAppendLog(ctx, p, op.CaseID, op.ID, created[TypeInterviewSession][op.ID], op.Data)
			},
			Apply: func(ctx context.Context, p identity.Principal, op Op[interview.Entries]) (Result, error) {
				return applied(interviews.AppendLog(ctx, p, op.CaseID, op.ID, op.Data))
			}}),
		Handle(InterviewUpdate, Handler[SessionChanges]{Check: a.checkUpdate, Apply: a.updateAtBase}),
	}
}

// applied is the result of a session written as v, or err.
func applied(v interview.View, err error) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	rec := InterviewRecord(v.Session, v.Log)
	return Result{Status: StatusApplied, ID: v.Session.ID, Record: &rec}, nil
}

type interviewApplier struct{ interviews *interview.Service }

// checkUpdate checks the changed fields' values on an empty session (the rest is the server's).
func (a interviewApplier) checkUpdate(ctx context.Context, p identity.Principal, op Op[SessionChanges], created Created) error {
	m := merge(sessionFields, interview.Session{}, 0, 0, op.Data, op.Data)
	if len(m.changed) == 0 {
		return badPayload("changes")
	}
	return a.interviews.CheckUpdate(ctx, p, op.CaseID, op.ID, created[TypeInterviewSession][op.ID], toSessionUpdate(m.want, m.changed))
}

func (a interviewApplier) updateAtBase(ctx context.Context, p identity.Principal, op Op[SessionChanges]) (Result, error) {
	if op.BaseVersion < 1 {
		return Result{}, errBaseVersion()
	}
	for range 3 { // another writer may get in between the read and the write
		r, err := a.update(ctx, p, op)
		if errors.Is(err, interview.ErrStale) {
			continue
		}
		return r, err
	}
	return Result{}, fmt.Errorf("interview %s keeps changing", op.ID)
}

func (a interviewApplier) update(ctx context.Context, p identity.Principal, op Op[SessionChanges]) (Result, error) {
	cur, err := a.interviews.ForUpdate(ctx, p, op.CaseID, op.ID)
	if err != nil {
		return Result{}, err
	}
	m := merge(sessionFields, cur.Session, cur.Session.Version, op.BaseVersion, op.Data, op.Base)
	if len(m.changed) == 0 {
		return Result{}, badPayload("changes")
	}
	if len(m.conflicting) > 0 {
		rec := InterviewRecord(cur.Session, cur.Log)
		return Result{Status: StatusConflict, ID: op.ID, Current: &rec, ConflictingFields: m.conflicting}, nil
	}
	if len(m.merged) == 0 { // the session already is as the device wants it
		rec := InterviewRecord(cur.Session, cur.Log)
		return Result{Status: StatusApplied, ID: op.ID, Record: &rec}, nil
	}
	v, err := a.interviews.Update(ctx, p, op.CaseID, op.ID, toSessionUpdate(m.want, m.merged), cur.Session.Version)
	if err != nil {
		return Result{}, err
	}
	rec := InterviewRecord(v.Session, v.Log)
	if cur.Session.Version == op.BaseVersion {
		return Result{Status: StatusApplied, ID: op.ID, Record: &rec}, nil
	}
	return Result{Status: StatusMerged, ID: op.ID, Record: &rec, MergedFields: m.merged}, nil
}
