package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/caseservice"
)

func (s *Server) serviceRoutes(app *fiber.App) {
	if s.deps.Services == nil {
		return
	}
	caseRoles := rolesOnly("caseworker", "supervisor")
	s.handle(app, fiber.MethodPost, "/v1/cases/:id/services", caseRoles, s.createService)
	s.handle(app, fiber.MethodGet, "/v1/cases/:id/services", caseRoles, s.listServices)
	s.handle(app, fiber.MethodGet, "/v1/cases/:id/services/:service", caseRoles, s.getService)
	s.handle(app, fiber.MethodPatch, "/v1/cases/:id/services/:service", caseRoles, s.updateService)
}

type outcomeBody struct {
	ExaminationDone   *bool       `json:"examination_done"`
	FollowUpNeeded    *bool       `json:"follow_up_needed"`
	Sessions          *int        `json:"sessions" validate:"omitempty,min=0,max=1000"`
	AssessmentOutcome string      `json:"assessment_outcome" validate:"omitempty,oneof=no_concern support_needed child_at_risk placed_in_care"`
	SafetyPlan        *bool       `json:"safety_plan"`
	ChargesFiled      *bool       `json:"charges_filed"`
	CourtDates        []time.Time `json:"court_dates" validate:"max=50"`
	Disposition       string      `json:"disposition" validate:"omitempty,oneof=pending no_charges dismissed acquitted convicted plea_agreement other"`
}

type newServiceRequest struct {
	ID         string      `json:"id" validate:"required,uuid"`
	Discipline string      `json:"discipline" validate:"required,oneof=medical_examination therapy psychosocial_support victim_advocacy child_protection legal"`
	Status     string      `json:"status" validate:"omitempty,oneof=planned in_progress completed declined cancelled"`
	Provider   string      `json:"provider" validate:"max=200"`
	Notes      string      `json:"notes" validate:"max=4000"`
	Outcome    outcomeBody `json:"outcome"`
}

type updateServiceRequest struct {
	Version  int64        `json:"version" validate:"required,min=1"`
	Status   *string      `json:"status" validate:"omitempty,oneof=planned in_progress completed declined cancelled"`
	Provider *string      `json:"provider" validate:"omitempty,max=200"`
	Notes    *string      `json:"notes" validate:"omitempty,max=4000"`
	Outcome  *outcomeBody `json:"outcome"`
}

type outcomeView struct {
	ExaminationDone        *bool       `json:"examination_done"`
	FollowUpNeeded         *bool       `json:"follow_up_needed"`
	Sessions               *int        `json:"sessions"`
	AssessmentOutcome      *string     `json:"assessment_outcome"`
	AssessmentOutcomeLabel *string     `json:"assessment_outcome_label"`
	SafetyPlan             *bool       `json:"safety_plan"`
	ChargesFiled           *bool       `json:"charges_filed"`
	CourtDates             []time.Time `json:"court_dates"`
	Disposition            *string     `json:"disposition"`
	DispositionLabel       *string     `json:"disposition_label"`
}

type serviceView struct {
	ID              string      `json:"id"`
	CaseID          string      `json:"case_id"`
	Discipline      string      `json:"discipline"`
	DisciplineLabel string      `json:"discipline_label"`
	Status          string      `json:"status"`
	StatusLabel     string      `json:"status_label"`
	Provider        string      `json:"provider"`
	Notes           string      `json:"notes"`
	Outcome         outcomeView `json:"outcome"`
	CreatedBy       string      `json:"created_by"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedBy       string      `json:"updated_by"`
	UpdatedAt       time.Time   `json:"updated_at"`
	Version         int64       `json:"version"`
}

type serviceList struct {
	Items []serviceView `json:"items"`
}

func toOutcome(b outcomeBody) caseservice.Outcome {
	return caseservice.Outcome{ExaminationDone: b.ExaminationDone, FollowUpNeeded: b.FollowUpNeeded, Sessions: b.Sessions,
		AssessmentOutcome: caseservice.AssessmentOutcome(b.AssessmentOutcome), SafetyPlan: b.SafetyPlan, ChargesFiled: b.ChargesFiled,
		CourtDates: b.CourtDates, Disposition: caseservice.Disposition(b.Disposition)}
}

func (s *Server) toServiceView(loc string, r caseservice.Record) serviceView {
	return toServiceViewWith(func(id string) string { return s.deps.Catalog.Message(loc, id, nil) }, r)
}

// toServiceViewWith is a service's view with its labels as msg gives them.
func toServiceViewWith(msg func(id string) string, r caseservice.Record) serviceView {
	o := r.Outcome
	ov := outcomeView{ExaminationDone: o.ExaminationDone, FollowUpNeeded: o.FollowUpNeeded, Sessions: o.Sessions, SafetyPlan: o.SafetyPlan,
		ChargesFiled: o.ChargesFiled, CourtDates: nonNil(o.CourtDates)}
	if o.AssessmentOutcome != "" {
		v, l := string(o.AssessmentOutcome), msg("caseservice.assessment."+string(o.AssessmentOutcome))
		ov.AssessmentOutcome, ov.AssessmentOutcomeLabel = &v, &l
	}
	if o.Disposition != "" {
		v, l := string(o.Disposition), msg("caseservice.disposition."+string(o.Disposition))
		ov.Disposition, ov.DispositionLabel = &v, &l
	}
	return serviceView{ID: r.ID, CaseID: r.CaseID, Discipline: string(r.Discipline), DisciplineLabel: msg("caseservice.discipline." + string(r.Discipline)),
		Status: string(r.Status), StatusLabel: msg("caseservice.status." + string(r.Status)), Provider: r.Provider, Notes: r.Notes, Outcome: ov,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

// createService answers POST /v1/cases/{id}/services: 201 with the record, 200 when repeated.
func (s *Server) createService(c *fiber.Ctx) error {
	var req newServiceRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, created, err := s.deps.Services.Create(c.UserContext(), principal(c), c.Params("id"), req.ID, caseservice.Discipline(req.Discipline),
		caseservice.Details{Status: caseservice.Status(req.Status), Provider: req.Provider, Notes: req.Notes, Outcome: toOutcome(req.Outcome)})
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, s.toServiceView(s.locale(c).Code, r))
}

// listServices answers GET /v1/cases/{id}/services.
func (s *Server) listServices(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	rs, err := s.deps.Services.List(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := serviceList{Items: make([]serviceView, len(rs))}
	for i, r := range rs {
		out.Items[i] = s.toServiceView(s.locale(c).Code, r)
	}
	return s.sendPrivate(c, out)
}

// getService answers GET /v1/cases/{id}/services/{service}.
func (s *Server) getService(c *fiber.Ctx) error {
	r, err := s.deps.Services.Get(c.UserContext(), principal(c), c.Params("id"), c.Params("service"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toServiceView(s.locale(c).Code, r))
}

// updateService answers PATCH /v1/cases/{id}/services/{service}: at a version (409 with the current
// record when stale).
func (s *Server) updateService(c *fiber.Ctx) error {
	var req updateServiceRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	u := caseservice.Update{Provider: req.Provider, Notes: req.Notes}
	if req.Status != nil {
		st := caseservice.Status(*req.Status)
		u.Status = &st
	}
	if req.Outcome != nil {
		o := toOutcome(*req.Outcome)
		u.Outcome = &o
	}
	r, err := s.deps.Services.Update(c.UserContext(), principal(c), c.Params("id"), c.Params("service"), u, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toServiceView(s.locale(c).Code, r))
}
