package interview

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// QueuePage is one page of the review queue. Next is the cursor of the following page ("" on the
// last one).
type QueuePage struct {
	Sessions []Session
	Next     string
}

// ReviewQueue returns up to limit (0: 50, at most 200) of the sessions of p's organisation waiting
// for review (submitted or resubmitted), oldest submission first, each with the quality computed when
// it was submitted, after the cursor after. It returns identity.ErrForbidden unless p is a supervisor;
// an *apperr.Error Invalid for a bad cursor; or the store's or recorder's error.
func (s *Service) ReviewQueue(ctx context.Context, p identity.Principal, after string, limit int) (QueuePage, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return QueuePage{}, s.denied(ctx, p, ActionReviewQueue, "", identity.ErrForbidden)
	}
	var afterTime time.Time
	var afterID string
	if after != "" {
		nanos, id, ok := strings.Cut(after, "_")
		n, err := strconv.ParseInt(nanos, 10, 64)
		if !ok || err != nil || !apperr.ValidUUID(id) {
			return QueuePage{}, apperr.Validation(apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
		}
		afterTime, afterID = time.Unix(0, n).UTC(), id
	}
	if limit <= 0 {
		limit = defaultQueueLimit
	}
	limit = min(limit, maxQueueLimit)
	list, err := s.store.OrgSessions(ctx, OrgFilter{OrgID: p.OrgID, Statuses: []Status{StatusSubmitted, StatusResubmitted},
		Queue: &QueueCursor{AfterTime: afterTime, AfterID: afterID, Limit: limit + 1}}) // one more: is there a next page?
	if err != nil {
		return QueuePage{}, fmt.Errorf("listing the review queue: %w", err)
	}
	list = slices.DeleteFunc(list, func(x Session) bool { return x.OrgID != p.OrgID || !x.Status.InReview() || x.SubmittedAt == nil })
	slices.SortFunc(list, func(a, b Session) int {
		return cmp.Or(a.SubmittedAt.Compare(*b.SubmittedAt), strings.Compare(a.ID, b.ID))
	})
	if after != "" {
		list = slices.DeleteFunc(list, func(x Session) bool {
			c := x.SubmittedAt.Compare(afterTime)
			return c < 0 || c == 0 && x.ID <= afterID
		})
	}
	page := QueuePage{Sessions: list}
	if len(list) > limit {
		page.Sessions = list[:limit]
		last := page.Sessions[limit-1]
		page.Next = strconv.FormatInt(last.SubmittedAt.UnixNano(), 10) + "_" + last.ID
	}
	if err := s.record(ctx, p.AuditEvent(identity.RoleSupervisor, ActionReviewQueue, ResourceInterview, "", audit.OutcomeSuccess)); err != nil {
		return QueuePage{}, err
	}
	return page, nil
}

// Figures are one month's prompt quality of a set of sessions.
type Figures struct {
	Sessions    int
	Prompts     int
	OpenPrompts int
	OpenShare   *float64 // open prompts over prompts; nil when there were none
	Flags       map[string]int
}

// MonthFigures are the figures of one month: the interviewer's and their organisation's.
type MonthFigures struct {
	Month        string // YYYY-MM
	Interviewer  Figures
	Organisation Figures
}

// Report is an interviewer's coaching report.
type Report struct {
	InterviewerID string
	From, To      string // YYYY-MM, inclusive
	Months        []MonthFigures
	Total         MonthFigures // Month is empty
}

// MaxReportMonths is the longest period a coaching report covers.
const MaxReportMonths = 36

// Coaching returns the coaching report of interviewer interviewerID ("": p) for the months from to
// to (both YYYY-MM, inclusive; empty: the 12 months up to the current one): per month, the share of
// open prompts and the flag counts of their sessions sent for review (submitted, resubmitted or
// approved; each in the month it started, with the quality computed at its last submission), and the
// same figures for the whole organisation beside them. Caseworkers get their own report only;
// supervisors anyone's in their organisation. It returns identity.ErrForbidden for other roles, or
// for a caseworker asking for someone else's report; an *apperr.Error Invalid with field errors for a
// bad period or user id; or the store's or recorder's error.
func (s *Service) Coaching(ctx context.Context, p identity.Principal, interviewerID, from, to string) (Report, error) {
	role := identity.RoleCaseworker
	switch {
	case p.HasRole(identity.RoleSupervisor) && p.OrgID != "":
		role = identity.RoleSupervisor
	case p.HasRole(identity.RoleCaseworker) && p.OrgID != "" && p.UserID != "":
	default:
		return Report{}, s.denied(ctx, p, ActionCoaching, "", identity.ErrForbidden)
	}
	if interviewerID == "" {
		interviewerID = p.UserID
	}
	var fe fieldErrors
	fe.token("interviewer_id", interviewerID, MaxIDLen)
	now := s.clock()
	if to == "" {
		to = now.Format("2006-01")
	}
	toMonth, err := time.Parse("2006-01", to)
	if err != nil {
		fe.Add("to", "month", "field.month", nil)
	}
	if from == "" {
		from = toMonth.AddDate(0, -11, 0).Format("2006-01")
	}
	fromMonth, ferr := time.Parse("2006-01", from)
	if ferr != nil {
		fe.Add("from", "month", "field.month", nil)
	}
	if err == nil && ferr == nil {
		n := (toMonth.Year()-fromMonth.Year())*12 + int(toMonth.Month()-fromMonth.Month()) + 1
		if n < 1 || n > MaxReportMonths {
			fe.Add("from", "range", "field.month_range", map[string]any{"Max": MaxReportMonths})
		}
	}
	if err := fe.Err(); err != nil {
		return Report{}, err
	}
	if role == identity.RoleCaseworker && interviewerID != p.UserID {
		return Report{}, s.denied(ctx, p, ActionCoaching, "", identity.ErrForbidden)
	}
	list, err := s.store.OrgCoaching(ctx, p.OrgID, fromMonth, toMonth.AddDate(0, 1, 0)) // the report's months only
	if err != nil {
		return Report{}, fmt.Errorf("listing interviews for a coaching report: %w", err)
	}
	rep := Report{InterviewerID: interviewerID, From: from, To: to}
	index := map[string]int{}
	for m := fromMonth; !m.After(toMonth); m = m.AddDate(0, 1, 0) {
		key := m.Format("2006-01")
		index[key] = len(rep.Months)
		rep.Months = append(rep.Months, MonthFigures{Month: key, Interviewer: newFigures(), Organisation: newFigures()})
	}
	rep.Total = MonthFigures{Interviewer: newFigures(), Organisation: newFigures()}
	for _, x := range list {
		i, ok := index[x.Started.UTC().Format("2006-01")]
		if !ok {
			continue
		}
		mf := &rep.Months[i]
		mf.Organisation.add(x)
		rep.Total.Organisation.add(x)
		if x.InterviewerID == interviewerID {
			mf.Interviewer.add(x)
			rep.Total.Interviewer.add(x)
		}
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCoaching, ResourceUser, interviewerID, audit.OutcomeSuccess)); err != nil {
		return Report{}, err
	}
	return rep, nil
}

func newFigures() Figures { return Figures{Flags: map[string]int{}} }

func (f *Figures) add(x CoachingSession) {
	f.Sessions++
	f.Prompts += x.Prompts
	f.OpenPrompts += x.OpenPrompts
	if f.Prompts > 0 {
		share := float64(f.OpenPrompts) / float64(f.Prompts)
		f.OpenShare = &share
	}
	for _, code := range x.Flags {
		f.Flags[code]++
	}
}

// CoachingSession is what a coaching report reads of a session it counts.
type CoachingSession struct {
	ID            string
	InterviewerID string
	Status        Status
	// Started is when the session started, or was created when it never started: the month the
	// report counts it in.
	Started     time.Time
	Prompts     int
	OpenPrompts int
	Flags       []string // the codes of its quality's flags
}

// CoachingStatuses are the statuses of the sessions a coaching report counts: those sent for review.
var CoachingStatuses = []Status{StatusSubmitted, StatusResubmitted, StatusApproved}

// CoachingOf returns what a coaching report counts of s, and whether it counts s at all: a session
// sent for review (submitted, resubmitted or approved) with the quality computed at its last
// submission. It returns no error.
func CoachingOf(s Session) (CoachingSession, bool) {
	if s.Quality == nil || !slices.Contains(CoachingStatuses, s.Status) {
		return CoachingSession{}, false
	}
	started := s.CreatedAt
	if s.StartedAt != nil {
		started = *s.StartedAt
	}
	x := CoachingSession{ID: s.ID, InterviewerID: s.InterviewerID, Status: s.Status, Started: started.UTC(),
		Prompts: s.Quality.Measures.Prompts, OpenPrompts: s.Quality.Measures.OpenPrompts, Flags: make([]string, len(s.Quality.Flags))}
	for i, fl := range s.Quality.Flags {
		x.Flags[i] = fl.Code
	}
	return x, true
}
