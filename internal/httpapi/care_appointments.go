package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
)

func (s *Server) appointmentRoutes(app *fiber.App) {
	if s.deps.Appointments == nil {
		return
	}
	get, post := fiber.MethodGet, fiber.MethodPost
	caseRoles := rolesOnly("caseworker", "supervisor")
	s.handle(app, post, "/v1/cases/:id/appointments", caseRoles, s.createCaseAppointment)
	s.handle(app, get, "/v1/cases/:id/appointments", caseRoles, s.listCaseAppointments)
	s.handle(app, get, "/v1/cases/:id/time-standards", caseRoles, s.caseTimeStandards)
	s.handle(app, post, "/v1/appointments", caseRoles, s.createAppointment)
	s.handle(app, get, "/v1/appointments", caseRoles, s.calendar)
	s.handle(app, get, "/v1/appointments/:id", caseRoles, s.getAppointment)
	s.handle(app, fiber.MethodPatch, "/v1/appointments/:id", caseRoles, s.updateAppointment)
	s.handle(app, get, "/v1/actions", caseRoles, s.dueActions)
}

type apptParticipantBody struct {
	UserID string `json:"user_id" validate:"max=128"`
	Name   string `json:"name" validate:"max=200"`
	Role   string `json:"role" validate:"max=100"`
}

type actionBody struct {
	ID         string     `json:"id" validate:"required,uuid"`
	AssigneeID string     `json:"assignee_id" validate:"required,max=128"`
	What       string     `json:"what" validate:"required,max=1000"`
	Due        time.Time  `json:"due" validate:"required"`
	DoneAt     *time.Time `json:"done_at"`
}

type caseReviewBody struct {
	CaseID    string       `json:"case_id" validate:"required,uuid"`
	Decisions string       `json:"decisions" validate:"max=4000"`
	Actions   []actionBody `json:"actions" validate:"max=50,dive"`
}

// newAppointmentRequest is the body of both creates; on a case's route case_ids is not sent (the
// case is the route's).
type newAppointmentRequest struct {
	ID              string                `json:"id" validate:"required,uuid"`
	Kind            string                `json:"kind" validate:"required,oneof=forensic_interview medical_examination therapy case_review court other"`
	CaseIDs         []string              `json:"case_ids" validate:"omitempty,max=50,dive,uuid"`
	StartsAt        time.Time             `json:"starts_at" validate:"required"`
	DurationMinutes int                   `json:"duration_minutes" validate:"min=0,max=1440"`
	Place           string                `json:"place" validate:"max=300"`
	Participants    []apptParticipantBody `json:"participants" validate:"max=50,dive"`
	Status          string                `json:"status" validate:"omitempty,oneof=scheduled done cancelled missed"`
	Notes           string                `json:"notes" validate:"max=4000"`
	Reviews         []caseReviewBody      `json:"reviews" validate:"max=50,dive"`
}

type updateAppointmentRequest struct {
	Version         int64                  `json:"version" validate:"required,min=1"`
	StartsAt        *time.Time             `json:"starts_at"`
	DurationMinutes *int                   `json:"duration_minutes" validate:"omitempty,min=0,max=1440"`
	Place           *string                `json:"place" validate:"omitempty,max=300"`
	Participants    *[]apptParticipantBody `json:"participants" validate:"omitempty,max=50,dive"`
	Status          *string                `json:"status" validate:"omitempty,oneof=scheduled done cancelled missed"`
	Notes           *string                `json:"notes" validate:"omitempty,max=4000"`
	Reviews         *[]caseReviewBody      `json:"reviews" validate:"omitempty,max=50,dive"`
}

type apptParticipantView struct {
	UserID *string `json:"user_id"`
	Name   *string `json:"name"`
	Role   string  `json:"role"`
}

type actionView struct {
	ID         string     `json:"id"`
	AssigneeID string     `json:"assignee_id"`
	What       string     `json:"what"`
	Due        time.Time  `json:"due"`
	DoneAt     *time.Time `json:"done_at"`
}

type caseReviewView struct {
	CaseID    string       `json:"case_id"`
	Decisions string       `json:"decisions"`
	Actions   []actionView `json:"actions"`
}

type appointmentView struct {
	ID              string                `json:"id"`
	Kind            string                `json:"kind"`
	KindLabel       string                `json:"kind_label"`
	CaseIDs         []string              `json:"case_ids"`
	StartsAt        time.Time             `json:"starts_at"`
	DurationMinutes int                   `json:"duration_minutes"`
	Place           string                `json:"place"`
	Participants    []apptParticipantView `json:"participants"`
	Status          string                `json:"status"`
	StatusLabel     string                `json:"status_label"`
	Notes           string                `json:"notes"`
	Reviews         []caseReviewView      `json:"reviews"`
	CreatedBy       string                `json:"created_by"`
	CreatedAt       time.Time             `json:"created_at"`
	UpdatedAt       time.Time             `json:"updated_at"`
	Version         int64                 `json:"version"`
}

type appointmentList struct {
	Items []appointmentView `json:"items"`
}

func toParticipants(bs []apptParticipantBody) []appointment.Participant {
	out := make([]appointment.Participant, len(bs))
	for i, b := range bs {
		out[i] = appointment.Participant(b)
	}
	return out
}

func toReviews(bs []caseReviewBody) []appointment.CaseReview {
	out := make([]appointment.CaseReview, len(bs))
	for i, b := range bs {
		r := appointment.CaseReview{CaseID: b.CaseID, Decisions: b.Decisions, Actions: make([]appointment.Action, len(b.Actions))}
		for j, a := range b.Actions {
			r.Actions[j] = appointment.Action(a)
		}
		out[i] = r
	}
	return out
}

func toAppointmentDetails(b newAppointmentRequest) appointment.Details {
	return appointment.Details{StartsAt: b.StartsAt, DurationMinutes: b.DurationMinutes, Place: b.Place, Participants: toParticipants(b.Participants),
		Status: appointment.Status(b.Status), Notes: b.Notes, Reviews: toReviews(b.Reviews)}
}

func (s *Server) toAppointmentView(loc string, a appointment.Appointment) appointmentView {
	return toAppointmentViewWith(func(id string) string { return s.deps.Catalog.Message(loc, id, nil) }, a)
}

// toAppointmentViewWith is an appointment's view with its labels as msg gives them.
func toAppointmentViewWith(msg func(id string) string, a appointment.Appointment) appointmentView {
	v := appointmentView{ID: a.ID, Kind: string(a.Kind), KindLabel: msg("appointment.kind." + string(a.Kind)),
		CaseIDs: nonNil(a.CaseIDs), StartsAt: a.StartsAt, DurationMinutes: a.DurationMinutes, Place: a.Place, Status: string(a.Status),
		StatusLabel: msg("appointment.status." + string(a.Status)), Notes: a.Notes,
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version,
		Participants: make([]apptParticipantView, len(a.Participants)), Reviews: make([]caseReviewView, len(a.Reviews))}
	for i, p := range a.Participants {
		pv := apptParticipantView{Role: p.Role}
		if p.UserID != "" {
			pv.UserID = &p.UserID
		} else {
			pv.Name = &p.Name
		}
		v.Participants[i] = pv
	}
	for i, r := range a.Reviews {
		rv := caseReviewView{CaseID: r.CaseID, Decisions: r.Decisions, Actions: make([]actionView, len(r.Actions))}
		for j, x := range r.Actions {
			rv.Actions[j] = actionView(x)
		}
		v.Reviews[i] = rv
	}
	return v
}

func (s *Server) sendAppointment(c *fiber.Ctx, a appointment.Appointment, created bool) error {
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, s.toAppointmentView(s.locale(c).Code, a))
}

// createCaseAppointment answers POST /v1/cases/{id}/appointments: 201 with the appointment about
// this case, 200 when the same create is repeated.
func (s *Server) createCaseAppointment(c *fiber.Ctx) error {
	var req newAppointmentRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	if req.CaseIDs != nil {
		return apperr.Validation(apperr.FieldError{Field: "case_ids", Code: "unknown_field", MessageID: "field.unknown_field"})
	}
	a, created, err := s.deps.Appointments.Create(c.UserContext(), principal(c), req.ID, appointment.Kind(req.Kind),
		[]string{c.Params("id")}, toAppointmentDetails(req))
	if err != nil {
		return err
	}
	return s.sendAppointment(c, a, created)
}

// createAppointment answers POST /v1/appointments: an appointment naming its cases (several for a
// case review meeting).
func (s *Server) createAppointment(c *fiber.Ctx) error {
	var req newAppointmentRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	a, created, err := s.deps.Appointments.Create(c.UserContext(), principal(c), req.ID, appointment.Kind(req.Kind),
		req.CaseIDs, toAppointmentDetails(req))
	if err != nil {
		return err
	}
	return s.sendAppointment(c, a, created)
}

func (s *Server) sendAppointments(c *fiber.Ctx, as []appointment.Appointment) error {
	out := appointmentList{Items: make([]appointmentView, len(as))}
	for i, a := range as {
		out.Items[i] = s.toAppointmentView(s.locale(c).Code, a)
	}
	return s.sendPrivate(c, out)
}

// listCaseAppointments answers GET /v1/cases/{id}/appointments.
func (s *Server) listCaseAppointments(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	as, err := s.deps.Appointments.ListForCase(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendAppointments(c, as)
}

// calendar answers GET /v1/appointments?from=&to=.
func (s *Server) calendar(c *fiber.Ctx) error {
	q := readQuery(c, "from", "to")
	from, to := q.time("from"), q.time("to")
	if err := q.done(s.validate, &struct{}{}); err != nil {
		return err
	}
	as, err := s.deps.Appointments.Calendar(c.UserContext(), principal(c), from, to)
	if err != nil {
		return err
	}
	return s.sendAppointments(c, as)
}

// getAppointment answers GET /v1/appointments/{id}.
func (s *Server) getAppointment(c *fiber.Ctx) error {
	a, err := s.deps.Appointments.Get(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendAppointment(c, a, false)
}

// updateAppointment answers PATCH /v1/appointments/{id}: at a version (409 with the current
// appointment when stale).
func (s *Server) updateAppointment(c *fiber.Ctx) error {
	var req updateAppointmentRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	u := appointment.Update{StartsAt: req.StartsAt, DurationMinutes: req.DurationMinutes, Place: req.Place, Notes: req.Notes}
	if req.Participants != nil {
		ps := toParticipants(*req.Participants)
		u.Participants = &ps
	}
	if req.Status != nil {
		st := appointment.Status(*req.Status)
		u.Status = &st
	}
	if req.Reviews != nil {
		rs := toReviews(*req.Reviews)
		u.Reviews = &rs
	}
	a, err := s.deps.Appointments.Update(c.UserContext(), principal(c), c.Params("id"), u, req.Version)
	if err != nil {
		return err
	}
	return s.sendAppointment(c, a, false)
}

type measureView struct {
	Code          string     `json:"code"`
	Kind          string     `json:"kind"`
	KindLabel     string     `json:"kind_label"`
	WithinHours   float64    `json:"within_hours"`
	WhenFlag      *string    `json:"when_flag"`
	DueAt         time.Time  `json:"due_at"`
	Status        string     `json:"status"`
	AppointmentID *string    `json:"appointment_id"`
	DoneAt        *time.Time `json:"done_at"`
	Hours         *float64   `json:"hours"`
}

type timeStandardsView struct {
	CaseID   string        `json:"case_id"`
	Overdue  bool          `json:"overdue"`
	Measures []measureView `json:"measures"`
}

func (s *Server) toMeasureView(loc string, m appointment.Measure) measureView {
	v := measureView{Code: m.Standard.Code, Kind: string(m.Standard.Kind), KindLabel: s.deps.Catalog.Message(loc, "appointment.kind."+string(m.Standard.Kind), nil),
		WithinHours: m.Standard.WithinHours, DueAt: m.DueAt, Status: string(m.Status), DoneAt: m.DoneAt, Hours: m.Hours}
	if m.Standard.WhenFlag != "" {
		v.WhenFlag = &m.Standard.WhenFlag
	}
	if m.AppointmentID != "" {
		v.AppointmentID = &m.AppointmentID
	}
	if m.Hours != nil {
		h := float64(int64(*m.Hours*100+0.5)) / 100
		v.Hours = &h
	}
	return v
}

// caseTimeStandards answers GET /v1/cases/{id}/time-standards: the case measured against each
// standard that applies to it, now.
func (s *Server) caseTimeStandards(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	ms, err := s.deps.Appointments.TimeStandards(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := timeStandardsView{CaseID: c.Params("id"), Measures: make([]measureView, len(ms))}
	for i, m := range ms {
		out.Measures[i] = s.toMeasureView(s.locale(c).Code, m)
		out.Overdue = out.Overdue || m.Overdue()
	}
	return s.sendPrivate(c, out)
}

type dueActionView struct {
	AppointmentID string     `json:"appointment_id"`
	MeetingAt     time.Time  `json:"meeting_at"`
	CaseID        string     `json:"case_id"`
	ActionID      string     `json:"action_id"`
	AssigneeID    string     `json:"assignee_id"`
	AssigneeName  string     `json:"assignee_name,omitempty"`
	What          string     `json:"what"`
	Due           time.Time  `json:"due"`
	DoneAt        *time.Time `json:"done_at"`
}

type dueActionList struct {
	Items []dueActionView `json:"items"`
}

func toDueActionView(d appointment.DueAction, names map[string]string) dueActionView {
	return dueActionView{AppointmentID: d.AppointmentID, MeetingAt: d.MeetingAt, CaseID: d.CaseID, ActionID: d.Action.ID,
		AssigneeID: d.Action.AssigneeID, AssigneeName: names[d.Action.AssigneeID], What: d.Action.What, Due: d.Action.Due, DoneAt: d.Action.DoneAt}
}

// dueActions answers GET /v1/actions: the case review actions not done, a caseworker's own or every
// one of a supervisor's organisation, earliest due first.
func (s *Server) dueActions(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	ds, err := s.deps.Appointments.Actions(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := dueActionList{Items: make([]dueActionView, len(ds))}
	for i, d := range ds {
		out.Items[i] = toDueActionView(d, nil)
	}
	return s.sendPrivate(c, out)
}
