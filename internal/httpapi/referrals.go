package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

type newReferralRequest struct {
	ID      string   `json:"id" validate:"required,uuid"`
	Kind    string   `json:"kind" validate:"omitempty,oneof=referral transfer"`
	ToOrgID string   `json:"to_org_id" validate:"required,max=64"`
	Service string   `json:"service" validate:"required,service_kind"`
	Urgency string   `json:"urgency" validate:"omitempty,oneof=routine urgent emergency"`
	Parts   []string `json:"parts" validate:"max=5,dive,max=32"`
	Note    string   `json:"note" validate:"max=2000"`
}

type referralReasonRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Reason  string `json:"reason" validate:"required,max=500"`
}

type acceptReferralRequest struct {
	Version         int64      `json:"version" validate:"required,min=1"`
	ReferenceNumber string     `json:"reference_number" validate:"max=100"`
	Child           *childBody `json:"child"`
	CaseTypes       []string   `json:"case_types" validate:"max=5,dive,case_type"`
	CaseworkerIDs   []string   `json:"caseworker_ids" validate:"max=50,dive,max=128"`
	SupervisorID    string     `json:"supervisor_id" validate:"max=128"`
}

type startReferralRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Note    string `json:"note" validate:"max=2000"`
}

type completeReferralRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Outcome string `json:"outcome" validate:"required,max=2000"`
	Note    string `json:"note" validate:"max=2000"`
}

type referralStepView struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	OrgID  string    `json:"org_id"`
	By     *string   `json:"by"` // only for the viewer's own organisation's steps
}

// referralView is a referral as one side sees it: the sender never gets the receiver's own note
// (receiver_note is left out of its view).
type referralView struct {
	ID            string             `json:"id"`
	Kind          string             `json:"kind"`
	FromOrgID     string             `json:"from_org_id"`
	FromCaseID    string             `json:"from_case_id"`
	ToOrgID       string             `json:"to_org_id"`
	ToCaseID      *string            `json:"to_case_id"`
	Service       codeLabel          `json:"service"`
	Urgency       string             `json:"urgency"`
	Parts         []codeLabel        `json:"parts"`
	ConsentID     *string            `json:"consent_id"`
	ConsentStatus *string            `json:"consent_status"`
	Note          string             `json:"note"`
	Status        codeLabel          `json:"status"`
	Reason        string             `json:"reason"`
	Outcome       string             `json:"outcome"`
	ReceiverNote  *string            `json:"receiver_note,omitempty"`
	SentAt        time.Time          `json:"sent_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	History       []referralStepView `json:"history"`
	Version       int64              `json:"version"`
}

type referralList struct {
	Items      []referralView `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

type acceptedReferral struct {
	Referral referralView `json:"referral"`
	Case     caseView     `json:"case"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toReferralView converts r as seen by organisation viewerOrg (the receiver's own note only for the
// receiver).
func toReferralView(r referral.Referral, l labeler, viewerOrg string) referralView {
	v := referralView{ID: r.ID, Kind: string(r.Kind), FromOrgID: r.FromOrgID, FromCaseID: r.FromCaseID, ToOrgID: r.ToOrgID,
		ToCaseID: optional(r.ToCaseID), Service: codeLabel{Code: string(r.Service), Label: l.label("service", string(r.Service))},
		Urgency: string(r.Urgency), Parts: labels(l, "consent.part", r.Parts), ConsentID: optional(r.ConsentID),
		ConsentStatus: optional(string(r.ConsentStatus)), Note: r.Note,
		Status: codeLabel{Code: string(r.Status), Label: l.label("referral.status", string(r.Status))},
		Reason: r.Reason, Outcome: r.Outcome, SentAt: r.SentAt, UpdatedAt: r.UpdatedAt,
		History: make([]referralStepView, len(r.History)), Version: r.Version}
	if viewerOrg == r.ToOrgID {
		note := r.ReceiverNote
		v.ReceiverNote = &note
	}
	for i, st := range r.History {
		v.History[i] = referralStepView{Status: string(st.Status), At: st.At, OrgID: st.OrgID}
		if st.OrgID == viewerOrg {
			v.History[i].By = optional(st.By)
		}
	}
	return v
}

func (s *Server) sendReferralView(c *fiber.Ctx, r referral.Referral) error {
	return s.sendPrivate(c, toReferralView(r, s.labeler(c), principal(c).OrgID))
}

// sendReferral answers POST /v1/cases/{id}/referrals: 201 with the referral (200 with the stored one
// when the same id is sent again), 422 when no current consent covers the parts shared.
func (s *Server) sendReferral(c *fiber.Ctx) error {
	var req newReferralRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	nr := referral.NewReferral{ID: req.ID, Kind: referral.Kind(req.Kind), ToOrgID: req.ToOrgID, Service: identity.ServiceKind(req.Service),
		Urgency: referral.Urgency(req.Urgency), Parts: asCodes[consent.Part](req.Parts), Note: req.Note}
	r, created, err := s.deps.Referrals.Send(c.UserContext(), principal(c), c.Params("id"), nr)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendReferralView(c, r)
}

// listCaseReferrals answers GET /v1/cases/{id}/referrals: the referrals sent from the case.
func (s *Server) listCaseReferrals(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	list, err := s.deps.Referrals.ListForCase(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	l, org := s.labeler(c), principal(c).OrgID
	out := referralList{Items: make([]referralView, len(list))}
	for i, r := range list {
		out.Items[i] = toReferralView(r, l, org)
	}
	return s.sendPrivate(c, out)
}

// getCaseReferral answers GET /v1/cases/{id}/referrals/{referral}: status and outcome for the sender.
func (s *Server) getCaseReferral(c *fiber.Ctx) error {
	r, err := s.deps.Referrals.GetForCase(c.UserContext(), principal(c), c.Params("id"), c.Params("referral"))
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}

// cancelReferral and withdrawReferral answer the sender's POST .../referrals/{referral}/cancel and
// /withdraw, with a reason, at a version.
func (s *Server) cancelReferral(c *fiber.Ctx) error {
	return s.senderReferralStep(c, s.deps.Referrals.Cancel)
}
func (s *Server) withdrawReferral(c *fiber.Ctx) error {
	return s.senderReferralStep(c, s.deps.Referrals.Withdraw)
}

func (s *Server) senderReferralStep(c *fiber.Ctx, step func(ctx context.Context, p identity.Principal, caseID, id, reason string, version int64) (referral.Referral, error)) error {
	var req referralReasonRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := step(c.UserContext(), principal(c), c.Params("id"), c.Params("referral"), req.Reason, req.Version)
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}

type inboxQuery struct {
	Status string `query:"status" validate:"omitempty,oneof=sent accepted declined in_progress completed cancelled withdrawn"`
	Limit  int    `query:"limit" validate:"min=1,max=200"`
}

// referralInbox answers GET /v1/referrals (supervisors): the referrals the organisation received.
func (s *Server) referralInbox(c *fiber.Ctx) error {
	q := readQuery(c, "status", "limit", "cursor")
	iq := inboxQuery{Status: q.str("status"), Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &iq); err != nil {
		return err
	}
	page, err := s.deps.Referrals.Inbox(c.UserContext(), principal(c), referral.Status(iq.Status), after, iq.Limit)
	if err != nil {
		return err
	}
	l, org := s.labeler(c), principal(c).OrgID
	out := referralList{Items: make([]referralView, len(page.Referrals))}
	for i, r := range page.Referrals {
		out.Items[i] = toReferralView(r, l, org)
	}
	if page.Next != "" {
		next := encodeCursor(page.Next)
		out.NextCursor = &next
	}
	return s.sendPrivate(c, out)
}

// getReceivedReferral answers GET /v1/referrals/{id}: a received referral, with its consent's status.
func (s *Server) getReceivedReferral(c *fiber.Ctx) error {
	r, err := s.deps.Referrals.Get(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}

// acceptReferral answers POST /v1/referrals/{id}/accept: the referral and the organisation's new case.
func (s *Server) acceptReferral(c *fiber.Ctx) error {
	var req acceptReferralRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	a := referral.Acceptance{ReferenceNumber: req.ReferenceNumber, CaseTypes: toCaseTypes(req.CaseTypes),
		CaseworkerIDs: req.CaseworkerIDs, SupervisorID: req.SupervisorID}
	if req.Child != nil {
		child := toChild(*req.Child)
		a.Child = &child
	}
	r, cs, err := s.deps.Referrals.Accept(c.UserContext(), principal(c), c.Params("id"), a, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, acceptedReferral{Referral: toReferralView(r, s.labeler(c), principal(c).OrgID), Case: toCaseView(cs)})
}

// declineReferral answers POST /v1/referrals/{id}/decline, with a reason the sender reads.
func (s *Server) declineReferral(c *fiber.Ctx) error {
	var req referralReasonRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Referrals.Decline(c.UserContext(), principal(c), c.Params("id"), req.Reason, req.Version)
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}

// startReferral answers POST /v1/referrals/{id}/start: in progress, with a note of the receiver's own.
func (s *Server) startReferral(c *fiber.Ctx) error {
	var req startReferralRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Referrals.Start(c.UserContext(), principal(c), c.Params("id"), req.Note, req.Version)
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}

// completeReferral answers POST /v1/referrals/{id}/complete: the outcome (the sender reads it).
func (s *Server) completeReferral(c *fiber.Ctx) error {
	var req completeReferralRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Referrals.Complete(c.UserContext(), principal(c), c.Params("id"), req.Outcome, req.Note, req.Version)
	if err != nil {
		return err
	}
	return s.sendReferralView(c, r)
}
