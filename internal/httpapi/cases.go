package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

type needsBody struct {
	Interpreter         bool   `json:"interpreter"`
	InterpreterLanguage string `json:"interpreter_language" validate:"max_language"`
	CommunicationAids   bool   `json:"communication_aids"`
	Disability          bool   `json:"disability"`
	DisabilityNotes     string `json:"disability_notes" validate:"max_case_notes"`
	SupportPerson       bool   `json:"support_person"`
}

type childBody struct {
	Pseudonym         string    `json:"pseudonym" validate:"required,max_pseudonym"`
	AgeBand           string    `json:"age_band" validate:"required,age_band"`
	BirthYear         int       `json:"birth_year" validate:"omitempty,min=1900,max=2100"`
	Gender            string    `json:"gender" validate:"omitempty,oneof=female male other undisclosed"`
	PreferredLanguage string    `json:"preferred_language" validate:"max_language"`
	Needs             needsBody `json:"needs"`
}

type newCaseRequest struct {
	ID              string     `json:"id" validate:"required,uuid"`
	ReferenceNumber string     `json:"reference_number" validate:"max_case_reference"`
	Child           childBody  `json:"child"`
	CaseTypes       []string   `json:"case_types" validate:"required,min=1,max=5,dive,case_type"`
	CaseworkerIDs   []string   `json:"caseworker_ids" validate:"max_caseworkers,dive,max_user_id"`
	SupervisorID    string     `json:"supervisor_id" validate:"max_user_id"`
	OpenedAt        *time.Time `json:"opened_at"`
}

type updateCaseRequest struct {
	Version         int64      `json:"version" validate:"required,min=1"`
	ReferenceNumber *string    `json:"reference_number" validate:"omitempty,max_case_reference"`
	Child           *childBody `json:"child"`
	CaseTypes       *[]string  `json:"case_types" validate:"omitempty,min=1,max=5,dive,case_type"`
	CaseworkerIDs   *[]string  `json:"caseworker_ids" validate:"omitempty,max_caseworkers,dive,max_user_id"`
	SupervisorID    *string    `json:"supervisor_id" validate:"omitempty,max_user_id"`
	// AssignmentReason says why caseworkers or supervisor change (kept in the assignment history).
	AssignmentReason string `json:"assignment_reason" validate:"max=500"`
}

type statusRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Reason  string `json:"reason" validate:"required,max_case_reason"`
}

type needsView struct {
	Interpreter         bool   `json:"interpreter"`
	InterpreterLanguage string `json:"interpreter_language"`
	CommunicationAids   bool   `json:"communication_aids"`
	Disability          bool   `json:"disability"`
	DisabilityNotes     string `json:"disability_notes"`
	SupportPerson       bool   `json:"support_person"`
}

type childView struct {
	Pseudonym         string    `json:"pseudonym"`
	AgeBand           string    `json:"age_band"`
	BirthYear         *int      `json:"birth_year"`
	Gender            string    `json:"gender"`
	PreferredLanguage string    `json:"preferred_language"`
	Needs             needsView `json:"needs"`
}

type caseView struct {
	ID              string     `json:"id"`
	OrgID           string     `json:"org_id"`
	ReferenceNumber string     `json:"reference_number"`
	Child           childView  `json:"child"`
	CaseTypes       []string   `json:"case_types"`
	CaseworkerIDs   []string   `json:"caseworker_ids"`
	SupervisorID    string     `json:"supervisor_id"`
	Status          string     `json:"status"`
	StatusReason    string     `json:"status_reason"`
	OpenedAt        time.Time  `json:"opened_at"`
	ClosedAt        *time.Time `json:"closed_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	CreatedBy       string     `json:"created_by"`
	Version         int64      `json:"version"`
	Erased          bool       `json:"erased"`
	Flags           []string   `json:"flags"` // kinds of the unresolved flags (caseflag)
}

func toChild(b childBody) casework.Child {
	return casework.Child{Pseudonym: b.Pseudonym, AgeBand: protocol.AgeBand(b.AgeBand), BirthYear: b.BirthYear,
		Gender: casework.Gender(b.Gender), PreferredLanguage: b.PreferredLanguage,
		Needs: casework.Needs{Interpreter: b.Needs.Interpreter, InterpreterLanguage: b.Needs.InterpreterLanguage,
			CommunicationAids: b.Needs.CommunicationAids, Disability: b.Needs.Disability,
			DisabilityNotes: b.Needs.DisabilityNotes, SupportPerson: b.Needs.SupportPerson}}
}

func toCaseTypes(codes []string) []protocol.CaseType {
	out := make([]protocol.CaseType, len(codes))
	for i, c := range codes {
		out[i] = protocol.CaseType(c)
	}
	return out
}

func toCaseView(c casework.Case) caseView {
	v := caseView{ID: c.ID, OrgID: c.OrgID, ReferenceNumber: c.ReferenceNumber,
		Child: childView{Pseudonym: c.Child.Pseudonym, AgeBand: string(c.Child.AgeBand), Gender: string(c.Child.Gender),
			PreferredLanguage: c.Child.PreferredLanguage, Needs: needsView(c.Child.Needs)},
		CaseTypes: codes(c.CaseTypes), CaseworkerIDs: nonNil(c.CaseworkerIDs), SupervisorID: c.SupervisorID,
		Status: string(c.Status), StatusReason: c.StatusReason, OpenedAt: c.OpenedAt, ClosedAt: c.ClosedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CreatedBy: c.CreatedBy, Version: c.Version, Erased: c.Erased, Flags: nonNil(c.Flags)}
	if c.Child.BirthYear != 0 {
		year := c.Child.BirthYear
		v.Child.BirthYear = &year
	}
	return v
}

// createCase answers POST /v1/cases: 201 with the case, or 200 with the stored case when the same
// create (same id, same content) is repeated, as an offline device does after a lost response.
func (s *Server) createCase(c *fiber.Ctx) error {
	var req newCaseRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	nc := casework.NewCase{ID: req.ID, ReferenceNumber: req.ReferenceNumber, Child: toChild(req.Child),
		CaseTypes: toCaseTypes(req.CaseTypes), CaseworkerIDs: req.CaseworkerIDs, SupervisorID: req.SupervisorID}
	if req.OpenedAt != nil {
		nc.OpenedAt = *req.OpenedAt
	}
	cs, created, err := s.deps.Cases.Create(c.UserContext(), principal(c), nc)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, toCaseView(cs))
}

type caseList struct {
	Items      []caseView `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

type caseQuery struct {
	Status   string `query:"status" validate:"omitempty,oneof=open closed"`
	Assignee string `query:"assignee" validate:"omitempty,max_user_id"`
	CaseType string `query:"case_type" validate:"omitempty,case_type"`
	AgeBand  string `query:"age_band" validate:"omitempty,age_band"`
	Flag     string `query:"flag" validate:"omitempty,oneof=risk_to_child safeguarding_concern media_attention special_needs acute other"`
	Limit    int    `query:"limit" validate:"min=1,max=200"`
}

// listCases answers GET /v1/cases: the cases the caller may see, filtered and paged.
func (s *Server) listCases(c *fiber.Ctx) error {
	q := readQuery(c, "status", "assignee", "case_type", "age_band", "flag", "updated_since", "limit", "cursor")
	cq := caseQuery{Status: q.str("status"), Assignee: q.str("assignee"), CaseType: q.str("case_type"),
		AgeBand: q.str("age_band"), Flag: q.str("flag"), Limit: q.integer("limit", defaultPageSize)}
	since := q.time("updated_since")
	after := q.cursor()
	if err := q.done(s.validate, &cq); err != nil {
		return err
	}
	page, err := s.deps.Cases.List(c.UserContext(), principal(c), casework.Filter{Status: casework.Status(cq.Status),
		AssigneeID: cq.Assignee, CaseType: protocol.CaseType(cq.CaseType), AgeBand: protocol.AgeBand(cq.AgeBand), UpdatedSince: since, Flag: cq.Flag}, after, cq.Limit)
	if err != nil {
		return err
	}
	list := caseList{Items: make([]caseView, len(page.Cases))}
	for i, cs := range page.Cases {
		list.Items[i] = toCaseView(cs)
	}
	list.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, list)
}

// getCase answers GET /v1/cases/{id}.
func (s *Server) getCase(c *fiber.Ctx) error {
	cs, err := s.deps.Cases.Get(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toCaseView(cs))
}

// updateCase answers PATCH /v1/cases/{id}: changes at a version (409 with the current case when stale).
func (s *Server) updateCase(c *fiber.Ctx) error {
	var req updateCaseRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	upd := casework.CaseUpdate{ReferenceNumber: req.ReferenceNumber, CaseworkerIDs: req.CaseworkerIDs, SupervisorID: req.SupervisorID,
		AssignmentReason: req.AssignmentReason}
	if req.Child != nil {
		child := toChild(*req.Child)
		upd.Child = &child
	}
	if req.CaseTypes != nil {
		types := toCaseTypes(*req.CaseTypes)
		upd.CaseTypes = &types
	}
	cs, err := s.deps.Cases.Update(c.UserContext(), principal(c), c.Params("id"), upd, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toCaseView(cs))
}

// closeCase and reopenCase answer POST /v1/cases/{id}/close and /reopen, with a reason.
func (s *Server) closeCase(c *fiber.Ctx) error  { return s.setCaseStatus(c, s.deps.Cases.Close) }
func (s *Server) reopenCase(c *fiber.Ctx) error { return s.setCaseStatus(c, s.deps.Cases.Reopen) }

func (s *Server) setCaseStatus(c *fiber.Ctx, set func(ctx context.Context, p identity.Principal, id, reason string, version int64) (casework.Case, error)) error {
	var req statusRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	cs, err := set(c.UserContext(), principal(c), c.Params("id"), req.Reason, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toCaseView(cs))
}
