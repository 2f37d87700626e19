// Package worklist builds a supervisor's worklist: what waits for them across the organisation
// (interviews to review, overdue protocol steps, cases with no caseworker, evidence whose checks
// failed, returned interviews waiting for their interviewer) and each caseworker's load. The JSON
// API (GET /v1/worklist) and the console's supervisor home page show the same Worklist.
package worklist

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// MaxReviews is how many interviews waiting for review a worklist lists (the oldest); Reviews
// says when there are more.
const MaxReviews = 200

// Names gives users' display names (*identity.Service satisfies it).
type Names interface {
	// DisplayNames returns the display names of the users of organisation orgID among ids.
	DisplayNames(ctx context.Context, orgID string, ids []string) (map[string]string, error)
}

// Service builds worklists from the domain services, as the calling supervisor: each service checks
// access and writes its own audit entry, as it does for the API's other reads.
type Service struct {
	Cases      *casework.Service
	Interviews *interview.Service
	Evidence   *evidence.Service
	Names      Names
	Now        func() time.Time
	// Appointments adds overdue time standards and case review actions not done (nil: none).
	Appointments *appointment.Service
}

// Load is one caseworker's load.
type Load struct {
	UserID       string
	DisplayName  string // "" when the user is gone
	OpenCases    int
	OverdueSteps int
}

// Worklist is what waits for a supervisor.
type Worklist struct {
	GeneratedAt      time.Time
	Reviews          []interview.Session // waiting for review, oldest submission first (at most MaxReviews)
	ReviewsTruncated bool
	Overdue          []casework.OverdueStep // by due time
	Unassigned       []casework.Case        // open cases with no caseworker, oldest first
	Problems         []evidence.Item        // failed hash verification or broken seal, oldest first
	Returned         []interview.Session    // returned, waiting for their interviewer, longest waiting first
	Caseload         []Load                 // by overdue steps, then open cases, most first
	OpenCases        int
	Names            map[string]string // display names of the interviewers, assignees and caseworkers named
	// Overdue time standards of open cases and case review actions not done (package appointment).
	TimeStandards []appointment.OverdueCase
	Actions       []appointment.DueAction
}

// Build returns p's worklist, reading the four lists at once. It returns identity.ErrForbidden
// unless p is a supervisor, or the error of the first list (in the order above) that failed.
func (s *Service) Build(ctx context.Context, p identity.Principal) (Worklist, error) {
	if !p.HasRole(identity.RoleSupervisor) {
		return Worklist{}, identity.ErrForbidden
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	w := Worklist{GeneratedAt: now().UTC()}
	// The four reads are independent; run together, their audit entries share one commit instead of
	// waiting for four in turn.
	var (
		wg                     sync.WaitGroup
		queue                  interview.QueuePage
		ov                     casework.Overview
		qErr, oErr, pErr, rErr error
	)
	wg.Add(4)
	go func() { defer wg.Done(); queue, qErr = s.Interviews.ReviewQueue(ctx, p, "", MaxReviews) }()
	go func() { defer wg.Done(); w.Problems, pErr = s.Evidence.ProblemItems(ctx, p) }()
	go func() { defer wg.Done(); w.Returned, rErr = s.Interviews.Returned(ctx, p) }()
	var due appointment.Due
	var dErr error
	go func() {
		defer wg.Done()
		// the time standards are measured on the open cases the overview read (one read, not two)
		if ov, oErr = s.Cases.Overview(ctx, p); oErr == nil && s.Appointments != nil {
			due, dErr = s.Appointments.DueOf(ctx, p, ov.Open)
		}
	}()
	wg.Wait()
	if err := firstErr(qErr, oErr, pErr, rErr, dErr); err != nil {
		return Worklist{}, err
	}
	w.Reviews, w.ReviewsTruncated = queue.Sessions, queue.Next != ""
	w.Overdue, w.Unassigned, w.OpenCases = ov.Overdue, ov.Unassigned, ov.OpenCases
	w.TimeStandards, w.Actions = due.Overdue, due.Actions
	var ids []string
	for id, l := range ov.Caseload {
		w.Caseload = append(w.Caseload, Load{UserID: id, OpenCases: l.OpenCases, OverdueSteps: l.OverdueSteps})
		ids = append(ids, id)
	}
	for _, list := range [][]interview.Session{w.Reviews, w.Returned} {
		for _, sess := range list {
			ids = append(ids, sess.InterviewerID)
		}
	}
	for _, a := range w.Actions {
		ids = append(ids, a.Action.AssigneeID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var err error
	if w.Names, err = s.Names.DisplayNames(ctx, p.OrgID, ids); err != nil {
		return Worklist{}, err
	}
	for i := range w.Caseload {
		w.Caseload[i].DisplayName = w.Names[w.Caseload[i].UserID]
	}
	slices.SortFunc(w.Caseload, func(a, b Load) int {
		if a.OverdueSteps != b.OverdueSteps {
			return b.OverdueSteps - a.OverdueSteps
		}
		if a.OpenCases != b.OpenCases {
			return b.OpenCases - a.OpenCases
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return w, nil
}

// firstErr returns the first non-nil error (so a denial keeps its type for the HTTP layer).
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
