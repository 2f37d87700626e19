package interview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Submitting a session for review, the supervisor's review, and addenda to an approved session.

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
// *apperr.Error Conflict (addendum_id_conflict) when the id names another addendum, or
// (interview_shared) for a copy received from another organisation; or the store's or recorder's
// error.
func (s *Service) AddAddendum(ctx context.Context, p identity.Principal, caseID, id string, na NewAddendum) (View, error) {
	_, role, sess, err := s.sessionFor(ctx, p, caseID, id, ActionAddendum)
	if err != nil {
		return View{}, err
	}
	if role != identity.RoleSupervisor && sess.InterviewerID != p.UserID {
		return View{}, s.denied(ctx, p, ActionAddendum, id, errNotInterviewer())
	}
	if sess.SharedFrom != nil {
		return View{}, s.denied(ctx, p, ActionAddendum, id, errShared())
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
