package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/worklist"
)

type worklistView struct {
	GeneratedAt      time.Time              `json:"generated_at"`
	OpenCases        int                    `json:"open_cases"`
	Reviews          []worklistInterview    `json:"reviews"`
	ReviewsTruncated bool                   `json:"reviews_truncated"`
	OverdueSteps     []worklistOverdueStep  `json:"overdue_steps"`
	Unassigned       []worklistCase         `json:"unassigned_cases"`
	EvidenceProblems []worklistEvidence     `json:"evidence_problems"`
	Returned         []worklistInterview    `json:"returned_interviews"`
	Caseload         []worklistCaseworkerLd `json:"caseload"`
	// working across agencies (care_appointments.go)
	TimeStandards []worklistTimeStandard `json:"overdue_time_standards"`
	DueActions    []dueActionView        `json:"due_actions"`
}

type worklistTimeStandard struct {
	CaseID      string    `json:"case_id"`
	Code        string    `json:"code"`
	Kind        string    `json:"kind"`
	DueAt       time.Time `json:"due_at"`
	AssigneeIDs []string  `json:"assignee_ids"`
}

type worklistInterview struct {
	CaseID          string     `json:"case_id"`
	InterviewID     string     `json:"interview_id"`
	InterviewerID   string     `json:"interviewer_id"`
	InterviewerName string     `json:"interviewer_name"`
	Status          string     `json:"status"`
	SubmittedAt     *time.Time `json:"submitted_at"`
	ReturnedAt      *time.Time `json:"returned_at,omitempty"`
	OpenShare       *float64   `json:"open_share"`
	Flags           []string   `json:"flags"`
}

type worklistOverdueStep struct {
	CaseID          string    `json:"case_id"`
	RunID           string    `json:"run_id"`
	ProtocolID      string    `json:"protocol_id"`
	ProtocolVersion int       `json:"protocol_version"`
	StepID          string    `json:"step_id"`
	StepTitle       string    `json:"step_title"`
	DueAt           time.Time `json:"due_at"`
	AssigneeIDs     []string  `json:"assignee_ids"`
}

type worklistCase struct {
	CaseID    string    `json:"case_id"`
	OpenedAt  time.Time `json:"opened_at"`
	CaseTypes []string  `json:"case_types"`
}

type worklistEvidence struct {
	CaseID          string `json:"case_id"`
	ItemID          string `json:"item_id"`
	IntegrityFailed bool   `json:"integrity_failed"`
	SealBroken      bool   `json:"seal_broken"`
}

type worklistCaseworkerLd struct {
	UserID       string `json:"user_id"`
	DisplayName  string `json:"display_name"`
	OpenCases    int    `json:"open_cases"`
	OverdueSteps int    `json:"overdue_steps"`
}

// worklist answers GET /v1/worklist: what waits for the supervisor across the organisation.
func (s *Server) worklist(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	if s.deps.Worklist == nil {
		return identity.ErrForbidden
	}
	w, err := s.deps.Worklist.Build(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toWorklistView(w))
}

// toWorklistView is the JSON form of a worklist (GET /v1/worklist).
func toWorklistView(w worklist.Worklist) worklistView {
	v := worklistView{GeneratedAt: w.GeneratedAt, OpenCases: w.OpenCases, ReviewsTruncated: w.ReviewsTruncated,
		Reviews: []worklistInterview{}, OverdueSteps: []worklistOverdueStep{}, Unassigned: []worklistCase{},
		EvidenceProblems: []worklistEvidence{}, Returned: []worklistInterview{}, Caseload: []worklistCaseworkerLd{}}
	for _, sess := range w.Reviews {
		wi := worklistInterview{CaseID: sess.CaseID, InterviewID: sess.ID, InterviewerID: sess.InterviewerID,
			InterviewerName: w.Names[sess.InterviewerID], Status: string(sess.Status), SubmittedAt: sess.SubmittedAt, Flags: []string{}}
		if q := sess.Quality; q != nil {
			wi.OpenShare = q.Measures.OpenShare
			for _, f := range q.Flags {
				wi.Flags = append(wi.Flags, f.Code)
			}
		}
		v.Reviews = append(v.Reviews, wi)
	}
	for _, o := range w.Overdue {
		v.OverdueSteps = append(v.OverdueSteps, worklistOverdueStep{CaseID: o.CaseID, RunID: o.RunID, ProtocolID: o.ProtocolID,
			ProtocolVersion: o.ProtocolVersion, StepID: o.StepID, StepTitle: o.StepTitle, DueAt: o.DueAt, AssigneeIDs: nonNil(o.AssigneeIDs)})
	}
	for _, c := range w.Unassigned {
		types := make([]string, len(c.CaseTypes))
		for i, t := range c.CaseTypes {
			types[i] = string(t)
		}
		v.Unassigned = append(v.Unassigned, worklistCase{CaseID: c.ID, OpenedAt: c.OpenedAt, CaseTypes: types})
	}
	for _, it := range w.Problems {
		v.EvidenceProblems = append(v.EvidenceProblems, worklistEvidence{CaseID: it.CaseID, ItemID: it.ID, IntegrityFailed: it.State.IntegrityFailed,
			SealBroken: it.State.SealIntact != nil && !*it.State.SealIntact})
	}
	for _, sess := range w.Returned {
		at := interview.ReturnedAt(sess)
		v.Returned = append(v.Returned, worklistInterview{CaseID: sess.CaseID, InterviewID: sess.ID, InterviewerID: sess.InterviewerID,
			InterviewerName: w.Names[sess.InterviewerID], Status: string(sess.Status), SubmittedAt: sess.SubmittedAt, ReturnedAt: &at, Flags: []string{}})
	}
	v.TimeStandards, v.DueActions = []worklistTimeStandard{}, []dueActionView{}
	for _, o := range w.TimeStandards {
		v.TimeStandards = append(v.TimeStandards, worklistTimeStandard{CaseID: o.CaseID, Code: o.Measure.Standard.Code,
			Kind: string(o.Measure.Standard.Kind), DueAt: o.Measure.DueAt, AssigneeIDs: nonNil(o.CaseworkerIDs)})
	}
	for _, a := range w.Actions {
		v.DueActions = append(v.DueActions, toDueActionView(a, w.Names))
	}
	for _, l := range w.Caseload {
		v.Caseload = append(v.Caseload, worklistCaseworkerLd{UserID: l.UserID, DisplayName: l.DisplayName, OpenCases: l.OpenCases, OverdueSteps: l.OverdueSteps})
	}
	return v
}
