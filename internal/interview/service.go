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

// AppendLog appends prompts, breaks, wellbeing checks and checklist marks to a draft or returned
// session, as its interviewer, and returns the session. Entries whose client id the log already
// holds with the same content are left out (a retried batch changes nothing), even once the session
// is submitted; a client id the log holds for other content is refused with an *apperr.Error Conflict
// (client_id_conflict, naming the entry, wrapping a *StaleError with the session as held). Marks
// must name an item of the session's checklist; prompts' phases must be phases of its protocol. It
// returns the errors of Update (but no version conflict); an *apperr.Error Invalid with field errors
// for bad entries, or (interview_log_full) when the log holds the most entries allowed; or the
// store's or recorder's error.
func (s *Service) AppendLog(ctx context.Context, p identity.Principal, caseID, id string, e Entries) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionLog)
	if err != nil {
		return View{}, err
	}
	if sess.InterviewerID != p.UserID {
		return View{}, s.denied(ctx, p, ActionLog, id, errNotInterviewer())
	}
	log, err := s.log(ctx, sess.ID)
	if err != nil {
		return View{}, err
	}
	v, err := s.version(ctx, sess)
	if err != nil {
		return View{}, err
	}
	now := s.clock()
	var fe fieldErrors
	e = fe.entries(e, v, BuildChecklist(v, sess.Situation, log), now)
	if err := fe.Err(); err != nil {
		return View{}, err
	}
	stamp(&e, p.UserID, now)
	if field, reused := log.Reused(e); reused {
		held, err := s.view(ctx, sess)
		if err != nil {
			return View{}, err
		}
		return View{}, errClientIDReused(field, held)
	}
	if fresh := e.Without(log.ClientIDSet()); fresh.Len() > 0 {
		if !sess.Status.Editable() {
			return View{}, errNotEditable(sess.Status)
		}
		_, err := s.store.AppendLog(ctx, sess.ID, fresh)
		if errors.Is(err, ErrLogClosed) {
			err = s.reopenAndAppend(ctx, sess.ID, fresh)
		}
		switch {
		case errors.Is(err, ErrLogFull):
			return View{}, errLogFull()
		case err != nil:
			return View{}, fmt.Errorf("appending to the log of interview %s: %w", sess.ID, err)
		}
	}
	return s.answer(ctx, p, role, ActionLog, sess)
}

// staleClose is how long after its closing a closed log of an editable session is taken as left
// closed by a failure (a submission that failed, a return whose reopening failed), not as closed by a
// submission still under way; longer than any request may take.
const staleClose = 2 * time.Minute

// reopenAndAppend answers an append refused because the log is closed: when the session is editable
// now and the log was closed before its latest return, or long enough ago that no submission can
// still be under way, the log is reopened and the entries appended; otherwise the session is (being)
// submitted and the append is refused.
func (s *Service) reopenAndAppend(ctx context.Context, id string, e Entries) error {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return fmt.Errorf("reading interview %s: %w", id, err)
	}
	log, err := s.log(ctx, id)
	if err != nil {
		return err
	}
	returnedAfter := len(sess.Reviews) > 0 && sess.Reviews[len(sess.Reviews)-1].At.After(log.ClosedAt)
	if !sess.Status.Editable() || !(returnedAfter || s.clock().Sub(log.ClosedAt) > staleClose) {
		status := sess.Status
		if status.Editable() {
			status = StatusSubmitted // a submission is under way
		}
		return errNotEditable(status)
	}
	if err := s.store.SetLogOpen(ctx, id, true, s.clock()); err != nil {
		return fmt.Errorf("reopening the log of interview %s: %w", id, err)
	}
	_, err = s.store.AppendLog(ctx, id, e)
	return err
}

// stamp sets the server's receipt time and the author on every entry.
func stamp(e *Entries, userID string, now time.Time) {
	for i := range e.Prompts {
		e.Prompts[i].ReceivedAt, e.Prompts[i].ByUserID = now, userID
	}
	for i := range e.Breaks {
		e.Breaks[i].ReceivedAt, e.Breaks[i].ByUserID = now, userID
	}
	for i := range e.Checks {
		e.Checks[i].ReceivedAt, e.Checks[i].ByUserID = now, userID
	}
	for i := range e.Marks {
		e.Marks[i].ReceivedAt, e.Marks[i].ByUserID = now, userID
	}
}

// Submit sends a draft or returned session whose current version is version to review, as its
// interviewer: its log is closed and its quality computed and kept with it. The status becomes
// submitted (resubmitted after a return). It returns the errors of Update; an *apperr.Error Invalid
// (interview_not_ended) when the session has no start or end time; or the store's or recorder's
// error.
func (s *Service) Submit(ctx context.Context, p identity.Principal, caseID, id string, version int64) (View, error) {
	sess, role, err := s.editable(ctx, p, caseID, id, ActionSubmit, version)
	if err != nil {
		return View{}, err
	}
	if sess.StartedAt == nil || sess.EndedAt == nil {
		return View{}, apperr.New(apperr.Invalid, "interview_not_ended", "ErrInterviewNotEnded", nil)
	}
	if err := s.store.SetLogOpen(ctx, sess.ID, false, s.clock()); err != nil {
		return View{}, fmt.Errorf("closing the log of interview %s: %w", sess.ID, err)
	}
	now := s.clock()
	next := sess.clone()
	next.Status = StatusSubmitted
	if sess.Status == StatusReturned {
		next.Status = StatusResubmitted
	}
	next.SubmittedAt = &now
	view, err := s.view(ctx, next)
	if err == nil {
		q := view.Quality.clone()
		next.Quality = &q
		var saved View
		if saved, err = s.save(ctx, p, role, ActionSubmit, next, now); err == nil {
			return saved, nil
		}
	}
	// Reopen the log unless another submission of the session won (a second device of the interviewer).
	if cur, rerr := s.store.Session(ctx, sess.ID); rerr == nil && cur.Status.Editable() {
		if oerr := s.store.SetLogOpen(ctx, sess.ID, true, s.clock()); oerr != nil {
			return View{}, errors.Join(err, fmt.Errorf("reopening the log of interview %s: %w", sess.ID, oerr))
		}
	}
	return View{}, err
}

// ReviewInput is a supervisor's review: approve, or return with a comment (overall, per item, or
// both).
type ReviewInput struct {
	Decision     Decision
	Comment      string
	ItemComments []ItemComment
}

// Review records a supervisor's decision on a submitted or resubmitted session whose current version
// is version. Approving locks the session; returning it reopens it to its interviewer. It returns
// identity.ErrForbidden or an *apperr.Error NotFound as Get does; identity.ErrForbidden for anyone but
// a supervisor of the organisation; an *apperr.Error Forbidden (own_interview) for the session's
// interviewer; an *apperr.Error Conflict (version_conflict) as Update does; an *apperr.Error Invalid
// (interview_status) when the session is not waiting for review, or with field errors (a return
// without any comment, comments on items not in the checklist); or the store's or recorder's error.
func (s *Service) Review(ctx context.Context, p identity.Principal, caseID, id string, in ReviewInput, version int64) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionReview)
	if err != nil {
		return View{}, err
	}
	switch {
	case role != identity.RoleSupervisor:
		return View{}, s.denied(ctx, p, ActionReview, id, identity.ErrForbidden)
	case sess.InterviewerID == p.UserID:
		return View{}, s.denied(ctx, p, ActionReview, id, errOwnInterview())
	}
	if sess.Version != version {
		return View{}, s.stale(ctx, p, role, ActionReview, sess)
	}
	if !sess.Status.InReview() {
		return View{}, errNotInReview(sess.Status)
	}
	v, err := s.version(ctx, sess)
	if err != nil {
		return View{}, err
	}
	log, err := s.log(ctx, sess.ID)
	if err != nil {
		return View{}, err
	}
	checklist := BuildChecklist(v, sess.Situation, log)
	now := s.clock()
	var fe fieldErrors
	r := Review{Decision: in.Decision, ByUserID: p.UserID, At: now, ItemComments: []ItemComment{}}
	apperr.OneOf(&fe.FieldErrors, "decision", in.Decision, Decisions)
	r.Comment = fe.text("comment", in.Comment, MaxCommentLen)
	if len(in.ItemComments) > MaxItemComments {
		fe.Add("item_comments", "max_items", "field.max_items", map[string]any{"Max": MaxItemComments})
	}
	for i, ic := range in.ItemComments {
		field := fmt.Sprintf("item_comments[%d]", i)
		fe.checklistItem(field, ic.StepID, ic.ItemID, false, checklist)
		ic.Comment = fe.text(field+".comment", ic.Comment, MaxCommentLen)
		if ic.Comment == "" {
			fe.Add(field+".comment", "required", "field.required", nil)
		}
		r.ItemComments = append(r.ItemComments, ic)
	}
	if in.Decision == DecisionReturn && r.Comment == "" && len(r.ItemComments) == 0 {
		fe.Add("comment", "required", "field.return_comment", nil)
	}
	if err := fe.Err(); err != nil {
		return View{}, err
	}
	next := sess.clone()
	next.Reviews = append(next.Reviews, r)
	if in.Decision == DecisionApprove {
		next.Status, next.ApprovedAt, next.ApprovedBy = StatusApproved, &now, p.UserID
	} else {
		next.Status = StatusReturned
	}
	saved, err := s.save(ctx, p, role, ActionReview, next, now)
	if err != nil {
		return View{}, err
	}
	if next.Status == StatusReturned {
		// The return is stored; should reopening the log fail here, AppendLog reopens it on the
		// interviewer's next batch (the session's status decides), so the review still succeeds.
		_ = s.store.SetLogOpen(ctx, sess.ID, true, s.clock())
		saved.Log.Open = true
	}
	return saved, nil
}

// NewAddendum is a correction to an approved session. ID is chosen by the client (a UUID).
type NewAddendum struct {
	ID         string
	Text       string
	RecordedAt time.Time
}

// AddAddendum adds a correction to an approved session, as its interviewer or a supervisor of the
// organisation; the session itself is unchanged. Repeating an addendum with the same id and text
// changes nothing. It returns identity.ErrForbidden or an *apperr.Error NotFound as Get does; an
// *apperr.Error Forbidden (not_interviewer) for a caseworker who is not the interviewer; an
// *apperr.Error Invalid (interview_status) when the session is not approved, or with field errors; an
// *apperr.Error Conflict (addendum_id_conflict) when the id names another addendum; or the store's or
// recorder's error.
func (s *Service) AddAddendum(ctx context.Context, p identity.Principal, caseID, id string, na NewAddendum) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionAddendum)
	if err != nil {
		return View{}, err
	}
	if role != identity.RoleSupervisor && sess.InterviewerID != p.UserID {
		return View{}, s.denied(ctx, p, ActionAddendum, id, errNotInterviewer())
	}
	now := s.clock()
	var fe fieldErrors
	fe.UUID("id", na.ID)
	text := fe.text("text", na.Text, MaxCommentLen)
	fe.Required("text", text)
	at := fe.deviceTime("recorded_at", na.RecordedAt, now)
	if err := fe.Err(); err != nil {
		return View{}, err
	}
	for attempt := 0; ; attempt++ {
		if i := slices.IndexFunc(sess.Addenda, func(a Addendum) bool { return a.ID == na.ID }); i >= 0 {
			if sess.Addenda[i].Text != text {
				return View{}, apperr.New(apperr.Conflict, "addendum_id_conflict", "ErrAddendumIDConflict", map[string]any{"ID": na.ID})
			}
			return s.answer(ctx, p, role, ActionAddendum, sess)
		}
		if sess.Status != StatusApproved {
			return View{}, errNotApproved(sess.Status)
		}
		if len(sess.Addenda) >= MaxAddenda {
			return View{}, apperr.New(apperr.Invalid, "interview_addenda_full", "ErrInterviewAddendaFull", map[string]any{"Max": MaxAddenda})
		}
		next := sess.clone()
		next.Addenda = append(next.Addenda, Addendum{ID: na.ID, Text: text, ByUserID: p.UserID, RecordedAt: at, ReceivedAt: now})
		next.Version++
		next.UpdatedAt = now
		err := s.store.UpdateSession(ctx, next)
		if err == nil {
			return s.answer(ctx, p, role, ActionAddendum, next)
		}
		if !errors.Is(err, ErrStale) || attempt >= 3 {
			return View{}, fmt.Errorf("adding to interview %s: %w", sess.ID, err)
		}
		if sess, err = s.store.Session(ctx, sess.ID); err != nil { // another write came first: try on top of it
			return View{}, fmt.Errorf("reading interview %s: %w", id, err)
		}
	}
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
