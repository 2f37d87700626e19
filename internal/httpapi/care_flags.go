package httpapi

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
)

// careRoutes registers the routes for working across agencies that this layer serves: case flags,
// services and outcomes, appointments and case review meetings, time standards, due actions and
// statistics (each set only when its service is wired).
func (s *Server) careRoutes(app *fiber.App) {
	s.flagRoutes(app)
	s.serviceRoutes(app)
	s.appointmentRoutes(app)
	s.reportRoutes(app)
}

func (s *Server) flagRoutes(app *fiber.App) {
	if s.deps.Flags == nil {
		return
	}
	caseRoles := rolesOnly("caseworker", "supervisor")
	s.handle(app, fiber.MethodPost, "/v1/cases/:id/flags", caseRoles, s.raiseFlag)
	s.handle(app, fiber.MethodGet, "/v1/cases/:id/flags", caseRoles, s.listFlags)
	s.handle(app, fiber.MethodPost, "/v1/cases/:id/flags/:flag/resolve", caseRoles, s.resolveFlag)
}

type newFlagRequest struct {
	ID     string `json:"id" validate:"required,uuid"`
	Kind   string `json:"kind" validate:"required,oneof=risk_to_child safeguarding_concern media_attention special_needs acute other"`
	Reason string `json:"reason" validate:"required,max=1000"`
}

type resolveFlagRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Reason  string `json:"reason" validate:"required,max=1000"`
}

type caseFlagView struct {
	ID               string     `json:"id"`
	CaseID           string     `json:"case_id"`
	Kind             string     `json:"kind"`
	KindLabel        string     `json:"kind_label"`
	Reason           string     `json:"reason"`
	RaisedBy         string     `json:"raised_by"`
	RaisedAt         time.Time  `json:"raised_at"`
	Active           bool       `json:"active"`
	ResolvedBy       *string    `json:"resolved_by"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	ResolutionReason *string    `json:"resolution_reason"`
	Version          int64      `json:"version"`
}

type caseFlagList struct {
	Items []caseFlagView `json:"items"`
}

func (s *Server) toFlagView(loc string, f caseflag.Flag) caseFlagView {
	return toFlagViewWith(func(id string) string { return s.deps.Catalog.Message(loc, id, nil) }, f)
}

// toFlagViewWith is a flag's view with its label as msg gives it.
func toFlagViewWith(msg func(id string) string, f caseflag.Flag) caseFlagView {
	v := caseFlagView{ID: f.ID, CaseID: f.CaseID, Kind: string(f.Kind), KindLabel: msg("caseflag.kind." + string(f.Kind)),
		Reason: f.Reason, RaisedBy: f.RaisedBy, RaisedAt: f.RaisedAt, Active: f.Active(), ResolvedAt: f.ResolvedAt, Version: f.Version}
	if f.ResolvedAt != nil {
		v.ResolvedBy, v.ResolutionReason = &f.ResolvedBy, &f.ResolutionReason
	}
	return v
}

// careCurrent returns the view of the current record a stale write of flags, services or
// appointments carries (nil for other errors), in locale loc.
func (s *Server) careCurrent(err error, loc string) any {
	var flag *caseflag.StaleError
	var service *caseservice.StaleError
	var appt *appointment.StaleError
	switch {
	case errors.As(err, &flag):
		return s.toFlagView(loc, flag.Current)
	case errors.As(err, &service):
		return s.toServiceView(loc, service.Current)
	case errors.As(err, &appt):
		return s.toAppointmentView(loc, appt.Current)
	}
	return nil
}

// raiseFlag answers POST /v1/cases/{id}/flags: 201 with the flag, 200 when the same raise is repeated.
func (s *Server) raiseFlag(c *fiber.Ctx) error {
	var req newFlagRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	f, created, err := s.deps.Flags.Raise(c.UserContext(), principal(c), c.Params("id"),
		caseflag.NewFlag{ID: req.ID, Kind: caseflag.Kind(req.Kind), Reason: req.Reason})
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, s.toFlagView(s.locale(c).Code, f))
}

// listFlags answers GET /v1/cases/{id}/flags: every flag of the case, resolved ones included.
func (s *Server) listFlags(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	fs, err := s.deps.Flags.List(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := caseFlagList{Items: make([]caseFlagView, len(fs))}
	for i, f := range fs {
		out.Items[i] = s.toFlagView(s.locale(c).Code, f)
	}
	return s.sendPrivate(c, out)
}

// resolveFlag answers POST /v1/cases/{id}/flags/{flag}/resolve, at a version with a reason.
func (s *Server) resolveFlag(c *fiber.Ctx) error {
	var req resolveFlagRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	f, err := s.deps.Flags.Resolve(c.UserContext(), principal(c), c.Params("id"), c.Params("flag"), req.Reason, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toFlagView(s.locale(c).Code, f))
}
