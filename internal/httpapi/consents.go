package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

type newConsentRequest struct {
	ID              string     `json:"id" validate:"required,uuid"`
	GivenBy         string     `json:"given_by" validate:"max=32"`
	LegalBasis      string     `json:"legal_basis" validate:"max=32"`
	Purposes        []string   `json:"purposes" validate:"max=4,dive,max=32"`
	OrganisationIDs []string   `json:"organisation_ids" validate:"max=20,dive,max=64"`
	Parts           []string   `json:"parts" validate:"max=5,dive,max=32"`
	Note            string     `json:"note" validate:"max=2000"`
	GivenAt         *time.Time `json:"given_at"`
	ValidFrom       *time.Time `json:"valid_from"`
	ValidUntil      *time.Time `json:"valid_until"`
}

type withdrawConsentRequest struct {
	Version     int64      `json:"version" validate:"required,min=1"`
	WithdrawnAt *time.Time `json:"withdrawn_at"`
	Note        string     `json:"note" validate:"max=2000"`
}

type withdrawalView struct {
	WithdrawnAt time.Time `json:"withdrawn_at"`
	ReceivedAt  time.Time `json:"received_at"`
	By          string    `json:"by"`
	Note        string    `json:"note"`
}

type caseConsentView struct {
	ID              string          `json:"id"`
	CaseID          string          `json:"case_id"`
	GivenBy         *codeLabel      `json:"given_by"`
	LegalBasis      *codeLabel      `json:"legal_basis"`
	Purposes        []codeLabel     `json:"purposes"`
	OrganisationIDs []string        `json:"organisation_ids"`
	Parts           []codeLabel     `json:"parts"`
	Note            string          `json:"note"`
	GivenAt         time.Time       `json:"given_at"`
	ValidFrom       time.Time       `json:"valid_from"`
	ValidUntil      *time.Time      `json:"valid_until"`
	RecordedBy      string          `json:"recorded_by"`
	CreatedAt       time.Time       `json:"created_at"`
	Status          string          `json:"status"`
	Withdrawal      *withdrawalView `json:"withdrawal"`
	Version         int64           `json:"version"`
}

type caseConsentList struct {
	Items []caseConsentView `json:"items"`
}

func toConsentView(c consent.Consent, l labeler, now time.Time) caseConsentView {
	v := caseConsentView{ID: c.ID, CaseID: c.CaseID, Purposes: labels(l, "consent.purpose", c.Purposes),
		OrganisationIDs: nonNil(c.OrganisationIDs), Parts: labels(l, "consent.part", c.Parts), Note: c.Note,
		GivenAt: c.GivenAt, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, RecordedBy: c.RecordedBy, CreatedAt: c.CreatedAt,
		Status: string(c.StatusAt(now)), Version: c.Version}
	if c.GivenBy != "" {
		v.GivenBy = &codeLabel{Code: string(c.GivenBy), Label: l.label("consent.given_by", string(c.GivenBy))}
	}
	if c.LegalBasis != "" {
		v.LegalBasis = &codeLabel{Code: string(c.LegalBasis), Label: l.label("consent.legal_basis", string(c.LegalBasis))}
	}
	if w := c.Withdrawal; w != nil {
		v.Withdrawal = &withdrawalView{WithdrawnAt: w.At, ReceivedAt: w.ReceivedAt, By: w.By, Note: w.Note}
	}
	return v
}

// sharingRoutes registers consents and referrals (working across agencies).
func (s *Server) sharingRoutes(app *fiber.App) {
	if s.deps.Consents == nil || s.deps.Referrals == nil {
		return
	}
	get, post := fiber.MethodGet, fiber.MethodPost
	caseRoles, supervisors := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor), rolesOnly(identity.RoleSupervisor)
	s.handle(app, post, "/v1/cases/:id/consents", caseRoles, s.createConsent)
	s.handle(app, get, "/v1/cases/:id/consents", caseRoles, s.listConsents)
	s.handle(app, post, "/v1/cases/:id/consents/:consent/withdrawal", caseRoles, s.withdrawConsent)
	s.handle(app, post, "/v1/cases/:id/referrals", caseRoles, s.sendReferral)
	s.handle(app, get, "/v1/cases/:id/referrals", caseRoles, s.listCaseReferrals)
	s.handle(app, get, "/v1/cases/:id/referrals/:referral", caseRoles, s.getCaseReferral)
	s.handle(app, post, "/v1/cases/:id/referrals/:referral/cancel", caseRoles, s.cancelReferral)
	s.handle(app, post, "/v1/cases/:id/referrals/:referral/withdraw", caseRoles, s.withdrawReferral)
	s.handle(app, get, "/v1/referrals", supervisors, s.referralInbox)
	s.handle(app, get, "/v1/referrals/:id", caseRoles, s.getReceivedReferral)
	s.handle(app, post, "/v1/referrals/:id/accept", supervisors, s.acceptReferral)
	s.handle(app, post, "/v1/referrals/:id/decline", supervisors, s.declineReferral)
	s.handle(app, post, "/v1/referrals/:id/start", caseRoles, s.startReferral)
	s.handle(app, post, "/v1/referrals/:id/complete", caseRoles, s.completeReferral)
	// assignment changes inside an organisation, with their reasons
	s.handle(app, get, "/v1/cases/:id/assignments", caseRoles, s.caseAssignments)
}

// toNewConsent is the consent a create's body describes (also a device's consent create).
func toNewConsent(req newConsentRequest) consent.NewConsent {
	nc := consent.NewConsent{ID: req.ID, GivenBy: consent.GivenBy(req.GivenBy), LegalBasis: consent.LegalBasis(req.LegalBasis),
		Purposes: asCodes[consent.Purpose](req.Purposes), OrganisationIDs: req.OrganisationIDs, Parts: asCodes[consent.Part](req.Parts),
		Note: req.Note, ValidUntil: req.ValidUntil}
	if req.GivenAt != nil {
		nc.GivenAt = *req.GivenAt
	}
	if req.ValidFrom != nil {
		nc.ValidFrom = *req.ValidFrom
	}
	return nc
}

// createConsent answers POST /v1/cases/{id}/consents: 201 with the consent, 200 with the stored one
// when the same id is sent again.
func (s *Server) createConsent(c *fiber.Ctx) error {
	var req newConsentRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	cs, created, err := s.deps.Consents.Create(c.UserContext(), principal(c), c.Params("id"), toNewConsent(req))
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, toConsentView(cs, s.labeler(c), s.deps.Consents.Now()))
}

// listConsents answers GET /v1/cases/{id}/consents: every consent of the case, withdrawn ones too.
func (s *Server) listConsents(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	list, err := s.deps.Consents.List(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	l, now := s.labeler(c), s.deps.Consents.Now()
	out := caseConsentList{Items: make([]caseConsentView, len(list))}
	for i, cs := range list {
		out.Items[i] = toConsentView(cs, l, now)
	}
	return s.sendPrivate(c, out)
}

// withdrawConsent answers POST /v1/cases/{id}/consents/{consent}/withdrawal.
func (s *Server) withdrawConsent(c *fiber.Ctx) error {
	var req withdrawConsentRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	var at time.Time
	if req.WithdrawnAt != nil {
		at = *req.WithdrawnAt
	}
	cs, err := s.deps.Consents.Withdraw(c.UserContext(), principal(c), c.Params("id"), c.Params("consent"), req.Note, at, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toConsentView(cs, s.labeler(c), s.deps.Consents.Now()))
}

// asCodes converts request codes to a vocabulary's type.
func asCodes[T ~string](values []string) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = T(v)
	}
	return out
}
