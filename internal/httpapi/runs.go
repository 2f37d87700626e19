package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/casework"
)

type startRunRequest struct {
	ID         string `json:"id" validate:"required,uuid"`
	ProtocolID string `json:"protocol_id" validate:"required,max_run_protocol_id"`
}

type stepRecordRequest struct {
	ClientID   string    `json:"client_id" validate:"required,max_step_client_id"`
	StepID     string    `json:"step_id" validate:"required,max_step_id"`
	Status     string    `json:"status" validate:"required,oneof=done skipped not_applicable"`
	Reason     string    `json:"reason" validate:"max_case_reason"`
	Note       string    `json:"note" validate:"max_case_notes"`
	RecordedAt time.Time `json:"recorded_at" validate:"required"`
}

type stepRecordView struct {
	StepID     string    `json:"step_id"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	Note       string    `json:"note"`
	RecordedAt time.Time `json:"recorded_at"`
	ReceivedAt time.Time `json:"received_at"`
	ByUserID   string    `json:"by_user_id"`
	ClientID   string    `json:"client_id"`
}

type runView struct {
	ID              string    `json:"id"`
	CaseID          string    `json:"case_id"`
	ProtocolID      string    `json:"protocol_id"`
	ProtocolVersion int       `json:"protocol_version"`
	StartedAt       time.Time `json:"started_at"`
	StartedBy       string    `json:"started_by"`
}

type runStepView struct {
	PhaseID  string          `json:"phase_id"`
	StepID   string          `json:"step_id"`
	Required bool            `json:"required"`
	DueAt    *time.Time      `json:"due_at"`
	Latest   *stepRecordView `json:"latest"`
}

type progressView struct {
	Applicable    int `json:"applicable"`
	Done          int `json:"done"`
	Skipped       int `json:"skipped"`
	NotApplicable int `json:"not_applicable"`
}

type runDetailView struct {
	runView
	Steps    []runStepView    `json:"steps"`
	Progress progressView     `json:"progress"`
	Overdue  []string         `json:"overdue"`
	Records  []stepRecordView `json:"records"`
}

func toRunView(r casework.Run) runView {
	return runView{ID: r.ID, CaseID: r.CaseID, ProtocolID: r.ProtocolID, ProtocolVersion: r.ProtocolVersion, StartedAt: r.StartedAt, StartedBy: r.StartedBy}
}

func toStepRecordView(r casework.StepRecord) stepRecordView {
	return stepRecordView{StepID: r.StepID, Status: string(r.Status), Reason: r.Reason, Note: r.Note,
		RecordedAt: r.RecordedAt, ReceivedAt: r.ReceivedAt, ByUserID: r.ByUserID, ClientID: r.ClientID}
}

func toRunDetailView(v casework.RunView) runDetailView {
	d := runDetailView{runView: toRunView(v.Run), Steps: make([]runStepView, len(v.Steps)),
		Progress: progressView(v.Progress), Overdue: nonNil(v.Overdue), Records: make([]stepRecordView, len(v.Run.Records))}
	for i, st := range v.Steps {
		d.Steps[i] = runStepView{PhaseID: st.PhaseID, StepID: st.Step.ID, Required: st.Step.Required, DueAt: st.DueAt}
		if st.Latest != nil {
			rec := toStepRecordView(*st.Latest)
			d.Steps[i].Latest = &rec
		}
	}
	for i, r := range v.Run.Records {
		d.Records[i] = toStepRecordView(r)
	}
	return d
}

// startRun answers POST /v1/cases/{id}/runs: starts a protocol on the case, pinned to the version
// published now; 201 with the run, or 200 with it when the same run id was already started (a retry),
// as a repeated case create answers.
func (s *Server) startRun(c *fiber.Ctx) error {
	var req startRunRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, created, err := s.deps.Cases.StartRun(c.UserContext(), principal(c), c.Params("id"), req.ID, req.ProtocolID)
	if err != nil {
		return err
	}
	v, err := s.deps.Cases.GetRun(c.UserContext(), principal(c), c.Params("id"), r.ID)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, toRunDetailView(v))
}

type runList struct {
	Items []runView `json:"items"`
}

// listRuns answers GET /v1/cases/{id}/runs.
func (s *Server) listRuns(c *fiber.Ctx) error {
	rs, err := s.deps.Cases.ListRuns(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	list := runList{Items: make([]runView, len(rs))}
	for i, r := range rs {
		list.Items[i] = toRunView(r)
	}
	return s.sendPrivate(c, list)
}

// getRun answers GET /v1/cases/{id}/runs/{run}: the applicable steps, progress and overdue steps.
func (s *Server) getRun(c *fiber.Ctx) error {
	v, err := s.deps.Cases.GetRun(c.UserContext(), principal(c), c.Params("id"), c.Params("run"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toRunDetailView(v))
}

// recordStep answers POST /v1/cases/{id}/runs/{run}/steps: appends a step outcome (idempotent by
// client_id).
func (s *Server) recordStep(c *fiber.Ctx) error {
	var req stepRecordRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Cases.RecordStep(c.UserContext(), principal(c), c.Params("id"), c.Params("run"), casework.NewStepRecord{
		StepID: req.StepID, Status: casework.StepStatus(req.Status), Reason: req.Reason, Note: req.Note,
		RecordedAt: req.RecordedAt, ClientID: req.ClientID})
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toRunDetailView(v))
}
