package interview

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Appending to a session's log (prompts, breaks, wellbeing checks, checklist marks).

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
