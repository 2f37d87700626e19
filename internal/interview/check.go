package interview

import (
	"context"
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Checks without writing, for device sync's all-or-nothing groups: each reports whether the write
// would be accepted, as far as that can be known before the writes of the group before it.

// CheckCreate reports whether Create(ctx, p, caseID, ns) would be accepted. When caseChecked, case
// caseID is one the caller is about to create (checked already), so only the session's own values
// and its protocol are checked. It returns Create's errors.
func (s *Service) CheckCreate(ctx context.Context, p identity.Principal, caseID string, caseChecked bool, ns NewSession) error {
	if !caseChecked {
		c, _, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
		if err != nil {
			return err
		}
		if c.Status == casework.StatusClosed {
			return apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": c.ID})
		}
	}
	var fe fieldErrors
	fe.UUID("id", ns.ID)
	if ns.ProtocolID == "" {
		ns.ProtocolID = DefaultProtocolID
	}
	fe.token("protocol_id", ns.ProtocolID, MaxIDLen)
	plan := fe.plan(ns.Plan)
	if err := fe.Err(); err != nil {
		return err
	}
	cur, err := s.store.Session(ctx, ns.ID)
	switch {
	case err == nil:
		if cur.CaseID != caseID || cur.ProtocolID != ns.ProtocolID || cur.InterviewerID != p.UserID || !cur.Plan.equal(plan) {
			return errSessionIDConflict(cur.ID)
		}
		return nil // a retry: Create changes nothing
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("reading interview %s: %w", ns.ID, err)
	}
	v, err := s.protocols.Latest(ns.ProtocolID)
	if err != nil {
		return fmt.Errorf("finding protocol %s: %w", ns.ProtocolID, err)
	}
	if v.Document.Protocol.Kind != protocol.KindInterview {
		return errNotInterviewProtocol(ns.ProtocolID)
	}
	return nil
}

// CheckAppendLog reports whether AppendLog(ctx, p, caseID, id, e) would be accepted. When
// sessionChecked, session id is one the caller is about to create, so only the entries' own values
// are checked (whether their phases and checklist items belong to the session's protocol is known
// only once it exists). It returns AppendLog's errors.
func (s *Service) CheckAppendLog(ctx context.Context, p identity.Principal, caseID, id string, sessionChecked bool, e Entries) error {
	now := s.clock()
	var fe fieldErrors
	if sessionChecked {
		shape := e
		shape.Prompts = append([]Prompt{}, e.Prompts...)
		for i := range shape.Prompts {
			shape.Prompts[i].PhaseID = ""
		}
		shape.Marks = nil
		for i, m := range e.Marks {
			field := fmt.Sprintf("checklist[%d]", i)
			fe.token(field+".client_id", m.ClientID, MaxClientIDLen)
			fe.token(field+".step_id", m.StepID, MaxIDLen)
			if reason := fe.text(field+".reason", m.Reason, MaxNoteLen); !m.Done && reason == "" {
				fe.Add(field+".reason", "required", "field.required", nil)
			}
			fe.deviceTime(field+".recorded_at", m.RecordedAt, now)
		}
		if shape.Len() > 0 || e.Len() == 0 {
			fe.entries(shape, protocol.Version{}, nil, now)
		}
		return fe.Err()
	}
	_, _, sess, err := s.sessionFor(ctx, p, caseID, id, ActionLog)
	if err != nil {
		return err
	}
	if sess.InterviewerID != p.UserID {
		return errNotInterviewer()
	}
	log, err := s.log(ctx, sess.ID)
	if err != nil {
		return err
	}
	v, err := s.version(ctx, sess)
	if err != nil {
		return err
	}
	e = fe.entries(e, v, BuildChecklist(v, sess.Situation, log), now)
	if err := fe.Err(); err != nil {
		return err
	}
	if e.Without(log.ClientIDSet()).Len() > 0 && !sess.Status.Editable() {
		return errNotEditable(sess.Status)
	}
	return nil
}

// CheckUpdate reports whether Update(ctx, p, caseID, id, upd, version) would be accepted at the
// session's current version (device sync merges a stale version's changes, so the version is not
// checked). When sessionChecked, session id is one the caller is about to create, so only upd's
// own values are checked. It returns Update's errors but no version conflict.
func (s *Service) CheckUpdate(ctx context.Context, p identity.Principal, caseID, id string, sessionChecked bool, upd SessionUpdate) error {
	now := s.clock()
	var fe fieldErrors
	if upd.Plan != nil {
		fe.plan(*upd.Plan)
	}
	fe.optionalDeviceTime("started_at", upd.StartedAt, now)
	fe.optionalDeviceTime("ended_at", upd.EndedAt, now)
	if upd.StartedAt != nil && upd.EndedAt != nil && upd.EndedAt.Before(*upd.StartedAt) {
		fe.Add("ended_at", "before_start", "field.before_start", nil)
	}
	if err := fe.Err(); err != nil || sessionChecked {
		return err
	}
	_, _, sess, err := s.sessionFor(ctx, p, caseID, id, ActionUpdate)
	if err != nil {
		return err
	}
	if sess.InterviewerID != p.UserID {
		return errNotInterviewer()
	}
	if !sess.Status.Editable() {
		return errNotEditable(sess.Status)
	}
	return nil
}
