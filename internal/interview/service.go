package interview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// DefaultProtocolID is the interview protocol a session follows when the client names none.
const DefaultProtocolID = "child-interview"

// Service creates, runs, reviews and reports on interview sessions, enforcing who may see and change
// which session and recording every access.
type Service struct {
	store     Store
	cases     Cases
	protocols ProtocolSource
	events    audit.Recorder
	rules     Rules
	now       func() time.Time
}

// NewService returns a Service over store. rules are the quality rules (nil: DefaultRules); now is
// the clock (nil: time.Now). It returns an error when a rule is not valid.
func NewService(store Store, cases Cases, protocols ProtocolSource, events audit.Recorder, rules Rules, now func() time.Time) (*Service, error) {
	if rules == nil {
		rules = DefaultRules()
	}
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, protocols: protocols, events: events, rules: slices.Clone(rules), now: now}, nil
}

// Rules returns a copy of the quality rules the Service applies.
func (s *Service) Rules() Rules { return slices.Clone(s.rules) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// NewSession is a session to create. ID is chosen by the client (a UUID); ProtocolID names an
// interview protocol ("" : DefaultProtocolID).
type NewSession struct {
	ID         string
	ProtocolID string
	Plan       Plan
}

// Create creates a session on case caseID, pinned to the latest version of its protocol, with the
// child's age band, case types and needs as the case has them now; p becomes its interviewer.
// Repeating a create with the same id and content changes nothing and returns the stored session with
// created false. It returns identity.ErrForbidden for roles without case access; an *apperr.Error
// NotFound (case_not_found) for a case p may not see; an *apperr.Error Invalid with field errors for
// bad values, or (case_closed) when the case is closed; the protocol source's NotFound error for an
// unknown protocol; an *apperr.Error Conflict (interview_id_conflict) when the id is taken by another
// session; or the store's or recorder's error.
func (s *Service) Create(ctx context.Context, p identity.Principal, caseID string, ns NewSession) (View, bool, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
	if err != nil {
		return View{}, false, err
	}
	now := s.clock()
	var fe fieldErrors
	fe.UUID("id", ns.ID)
	if ns.ProtocolID == "" {
		ns.ProtocolID = DefaultProtocolID
	}
	fe.token("protocol_id", ns.ProtocolID, MaxIDLen)
	plan := fe.plan(ns.Plan)
	if err := fe.Err(); err != nil {
		return View{}, false, err
	}
	if cur, err := s.store.Session(ctx, ns.ID); err == nil {
		return s.createAgain(ctx, p, role, c, cur, ns.ProtocolID, plan)
	} else if !errors.Is(err, ErrNotFound) {
		return View{}, false, fmt.Errorf("reading interview %s: %w", ns.ID, err)
	}
	if c.Status == casework.StatusClosed {
		return View{}, false, apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": c.ID})
	}
	v, err := s.protocols.Latest(ns.ProtocolID)
	if err != nil {
		return View{}, false, fmt.Errorf("finding protocol %s: %w", ns.ProtocolID, err)
	}
	if v.Document.Protocol.Kind != protocol.KindInterview {
		return View{}, false, errNotInterviewProtocol(ns.ProtocolID)
	}
	sess := Session{ID: ns.ID, OrgID: c.OrgID, CaseID: c.ID, ProtocolID: v.ProtocolID, ProtocolVersion: v.Number,
		Situation: c.Situation(), InterviewerID: p.UserID, Status: StatusDraft, Plan: plan,
		Reviews: []Review{}, Addenda: []Addendum{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	err = s.store.CreateSession(ctx, sess)
	if errors.Is(err, ErrExists) { // a concurrent create with the same id
		cur, rerr := s.store.Session(ctx, ns.ID)
		if rerr != nil {
			return View{}, false, fmt.Errorf("reading interview %s: %w", ns.ID, rerr)
		}
		return s.createAgain(ctx, p, role, c, cur, ns.ProtocolID, plan)
	}
	if err != nil {
		return View{}, false, fmt.Errorf("creating interview %s: %w", ns.ID, err)
	}
	view, err := s.view(ctx, sess)
	if err != nil {
		return View{}, false, err
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCreate, ResourceInterview, sess.ID, audit.OutcomeSuccess)); err != nil {
		return View{}, false, err
	}
	return view, true, nil
}

// createAgain answers a create whose id is taken: the stored session when it is the same create (a
// retried request), interview_id_conflict otherwise.
func (s *Service) createAgain(ctx context.Context, p identity.Principal, role identity.Role, c casework.Case, cur Session, protocolID string, plan Plan) (View, bool, error) {
	if cur.OrgID != c.OrgID || cur.CaseID != c.ID || cur.ProtocolID != protocolID || cur.InterviewerID != p.UserID || !cur.Plan.equal(plan) {
		return View{}, false, errSessionIDConflict(cur.ID)
	}
	view, err := s.view(ctx, cur)
	if err != nil {
		return View{}, false, err
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCreate, ResourceInterview, cur.ID, audit.OutcomeSuccess)); err != nil {
		return View{}, false, err
	}
	return view, false, nil
}

// Get returns a session of a case with its log, checklist and quality. It returns
// identity.ErrForbidden for roles without case access; an *apperr.Error NotFound (case_not_found,
// interview_not_found) for a case p may not see or a session that is not one of the case's; or the
// store's, protocol source's or recorder's error.
func (s *Service) Get(ctx context.Context, p identity.Principal, caseID, id string) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionRead)
	if err != nil {
		return View{}, err
	}
	view, err := s.view(ctx, sess)
	if err != nil {
		return View{}, err
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRead, ResourceInterview, id, audit.OutcomeSuccess)); err != nil {
		return View{}, err
	}
	return view, nil
}

// List returns the sessions of a case, by creation time, each with the quality computed at its last
// submission (nil before). It returns identity.ErrForbidden or an *apperr.Error NotFound
// (case_not_found) as Get does, or the store's or recorder's error.
func (s *Service) List(ctx context.Context, p identity.Principal, caseID string) ([]Session, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	list, err := s.store.CaseSessions(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the interviews of case %s: %w", c.ID, err)
	}
	list = slices.DeleteFunc(list, func(x Session) bool { return x.OrgID != c.OrgID })
	if err := s.record(ctx, p.AuditEvent(role, ActionList, ResourceCase, c.ID, audit.OutcomeSuccess)); err != nil {
		return nil, err
	}
	return list, nil
}

// SessionUpdate changes a session's plan and times; nil fields stay as they are. Plan replaces the
// whole plan.
type SessionUpdate struct {
	Plan      *Plan
	StartedAt *time.Time
	EndedAt   *time.Time
}

// Update changes a draft or returned session whose current version is version, as its interviewer,
// and returns it at its new version (an update that changes nothing returns it as it is). It returns
// identity.ErrForbidden or an *apperr.Error NotFound as Get does; an *apperr.Error Forbidden
// (not_interviewer) for anyone but the interviewer; an *apperr.Error Conflict (version_conflict)
// wrapping a *StaleError with the current session when version is not current; an *apperr.Error
// Invalid (interview_locked) when the session is submitted or approved, or with field errors for bad
// values; or the store's or recorder's error.
func (s *Service) Update(ctx context.Context, p identity.Principal, caseID, id string, upd SessionUpdate, version int64) (View, error) {
	sess, role, err := s.editable(ctx, p, caseID, id, ActionUpdate, version)
	if err != nil {
		return View{}, err
	}
	now := s.clock()
	next := sess.clone()
	var fe fieldErrors
	if upd.Plan != nil {
		next.Plan = fe.plan(*upd.Plan)
	}
	if upd.StartedAt != nil {
		next.StartedAt = fe.optionalDeviceTime("started_at", upd.StartedAt, now)
	}
	if upd.EndedAt != nil {
		next.EndedAt = fe.optionalDeviceTime("ended_at", upd.EndedAt, now)
	}
	if next.StartedAt != nil && next.EndedAt != nil && next.EndedAt.Before(*next.StartedAt) {
		fe.Add("ended_at", "before_start", "field.before_start", nil)
	}
	if next.EndedAt != nil && next.StartedAt == nil {
		fe.Add("started_at", "required", "field.required", nil)
	}
	if err := fe.Err(); err != nil {
		return View{}, err
	}
	if next.Plan.equal(sess.Plan) && timePtrEqual(next.StartedAt, sess.StartedAt) && timePtrEqual(next.EndedAt, sess.EndedAt) {
		return s.answer(ctx, p, role, ActionUpdate, sess)
	}
	return s.save(ctx, p, role, ActionUpdate, next, now)
}

// ForUpdate returns a draft or returned session as its interviewer is about to change it (device
// sync reads the current copy to merge a device's changes into it), recording the read in the audit
// log. It returns the errors of Update but no version conflict: an *apperr.Error Invalid
// (interview_locked) when the session is submitted or approved.
func (s *Service) ForUpdate(ctx context.Context, p identity.Principal, caseID, id string) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionUpdate)
	if err != nil {
		return View{}, err
	}
	if sess.InterviewerID != p.UserID {
		return View{}, s.denied(ctx, p, ActionUpdate, id, errNotInterviewer())
	}
	if !sess.Status.Editable() {
		return View{}, errNotEditable(sess.Status)
	}
	return s.answer(ctx, p, role, ActionRead, sess)
}

// editable reads a session for a change by its interviewer at version.
func (s *Service) editable(ctx context.Context, p identity.Principal, caseID, id, action string, version int64) (Session, identity.Role, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, action)
	if err != nil {
		return Session{}, "", err
	}
	if sess.InterviewerID != p.UserID {
		return Session{}, "", s.denied(ctx, p, action, id, errNotInterviewer())
	}
	if sess.Version != version {
		return Session{}, "", s.stale(ctx, p, role, action, sess)
	}
	if !sess.Status.Editable() {
		return Session{}, "", errNotEditable(sess.Status)
	}
	return sess, role, nil
}

// save stores next at the following version, records action and returns the view.
func (s *Service) save(ctx context.Context, p identity.Principal, role identity.Role, action string, next Session, now time.Time) (View, error) {
	next.Version++
	next.UpdatedAt = now
	if err := s.store.UpdateSession(ctx, next); err != nil {
		switch {
		case errors.Is(err, ErrNotFound):
			return View{}, errSessionNotFound(next.ID)
		case errors.Is(err, ErrStale):
			cur, rerr := s.store.Session(ctx, next.ID)
			if rerr != nil {
				return View{}, fmt.Errorf("reading interview %s after a stale write: %w", next.ID, rerr)
			}
			return View{}, s.stale(ctx, p, role, action, cur)
		default:
			return View{}, fmt.Errorf("updating interview %s: %w", next.ID, err)
		}
	}
	return s.answer(ctx, p, role, action, next)
}

// answer records action as a success and returns the view of sess.
func (s *Service) answer(ctx context.Context, p identity.Principal, role identity.Role, action string, sess Session) (View, error) {
	view, err := s.view(ctx, sess)
	if err != nil {
		return View{}, err
	}
	if err := s.record(ctx, p.AuditEvent(role, action, ResourceInterview, sess.ID, audit.OutcomeSuccess)); err != nil {
		return View{}, err
	}
	return view, nil
}

// stale records that the current session is handed out with a version conflict and returns the
// conflict.
func (s *Service) stale(ctx context.Context, p identity.Principal, role identity.Role, action string, cur Session) error {
	view, err := s.view(ctx, cur)
	if err != nil {
		return err
	}
	if err := s.record(ctx, p.AuditEvent(role, action, ResourceInterview, cur.ID, audit.OutcomeFailure)); err != nil {
		return err
	}
	return errSessionStale(view)
}

// sessionFor checks p's access to case caseID and reads session id of that case; refusals are
// recorded as action denied.
func (s *Service) sessionFor(ctx context.Context, p identity.Principal, caseID, id, action string) (casework.Case, identity.Role, Session, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, action)
	if err != nil {
		return casework.Case{}, "", Session{}, err
	}
	if !apperr.ValidUUID(id) {
		return casework.Case{}, "", Session{}, s.denied(ctx, p, action, "", errSessionNotFound(id))
	}
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (sess.CaseID != c.ID || sess.OrgID != c.OrgID)) {
		return casework.Case{}, "", Session{}, s.denied(ctx, p, action, id, errSessionNotFound(id))
	}
	if err != nil {
		return casework.Case{}, "", Session{}, fmt.Errorf("reading interview %s: %w", id, err)
	}
	return c, role, sess, nil
}

// view reads the log and pinned protocol version of sess and computes its checklist and quality.
func (s *Service) view(ctx context.Context, sess Session) (View, error) {
	log, err := s.log(ctx, sess.ID)
	if err != nil {
		return View{}, err
	}
	v, err := s.version(ctx, sess)
	if err != nil {
		return View{}, err
	}
	siblings, err := s.store.CaseSessions(ctx, sess.CaseID)
	if err != nil {
		return View{}, fmt.Errorf("listing the interviews of case %s: %w", sess.CaseID, err)
	}
	number := 1
	for _, o := range siblings {
		if o.ID != sess.ID && o.OrgID == sess.OrgID && (o.CreatedAt.Before(sess.CreatedAt) || o.CreatedAt.Equal(sess.CreatedAt) && o.ID < sess.ID) {
			number++
		}
	}
	checklist := BuildChecklist(v, sess.Situation, log)
	return View{Session: sess.clone(), Log: log, Checklist: checklist, Protocol: v,
		Quality: Assess(s.rules, sess, log, checklist, number)}, nil
}

// log reads the log of a session; a session created without one (an interrupted create) has an
// empty, open log.
func (s *Service) log(ctx context.Context, id string) (Log, error) {
	log, err := s.store.Log(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Log{SessionID: id, Open: true}, nil
	}
	if err != nil {
		return Log{}, fmt.Errorf("reading the log of interview %s: %w", id, err)
	}
	return log, nil
}

// version returns the protocol version sess is pinned to.
func (s *Service) version(ctx context.Context, sess Session) (protocol.Version, error) {
	v, err := s.protocols.Version(ctx, sess.ProtocolID, sess.ProtocolVersion)
	if err != nil {
		return protocol.Version{}, fmt.Errorf("reading %s version %d of interview %s: %w", sess.ProtocolID, sess.ProtocolVersion, sess.ID, err)
	}
	return v, nil
}

// denied records a refused access and returns cause (or the recorder's error).
func (s *Service) denied(ctx context.Context, p identity.Principal, action, resourceID string, cause error) error {
	if !apperr.ValidUUID(resourceID) {
		resourceID = ""
	}
	if err := s.record(ctx, p.AuditEvent("", action, ResourceInterview, resourceID, audit.OutcomeDenied)); err != nil {
		return err
	}
	return cause
}

func (s *Service) record(ctx context.Context, e audit.Event) error {
	if err := s.events.RecordEvent(ctx, e); err != nil {
		return fmt.Errorf("recording interview event %s: %w", e.Action, err)
	}
	return nil
}
