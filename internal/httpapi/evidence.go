package httpapi

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// evidenceRoutes registers the evidence-preservation endpoints: items of a case, their custody
// chains, verification and exports. Caseworkers (assigned cases) and supervisors (their
// organisation's cases) only.
func (s *Server) evidenceRoutes(app *fiber.App) {
	roles := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor)
	get, post := fiber.MethodGet, fiber.MethodPost
	s.handle(app, post, "/v1/cases/:id/evidence", roles, s.createEvidenceItem)
	s.handle(app, get, "/v1/cases/:id/evidence", roles, s.listEvidenceItems)
	s.handle(app, get, "/v1/cases/:id/evidence-verification", roles, s.verifyCaseEvidence)
	s.handle(app, get, "/v1/cases/:id/evidence/:item", roles, s.getEvidenceItem)
	s.handle(app, post, "/v1/cases/:id/evidence/:item/events", roles, s.appendCustodyEvent)
	s.handle(app, get, "/v1/cases/:id/evidence/:item/events", roles, s.listCustodyEvents)
	s.handle(app, get, "/v1/cases/:id/evidence/:item/verify", roles, s.verifyEvidenceItem)
	s.handle(app, get, "/v1/cases/:id/evidence/:item/case-uco", roles, s.exportCaseUCO)
	s.handle(app, get, "/v1/cases/:id/evidence/:item/custody-record", roles, s.custodyRecord)
}

// createEvidenceItem answers POST /v1/cases/{id}/evidence: 201 with the item (its chain started by a
// "collected" event and signed), or 200 with the stored item when the same create is repeated.
func (s *Server) createEvidenceItem(c *fiber.Ctx) error {
	var req newItemBody
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	it, created, err := s.deps.Evidence.CreateItem(c.UserContext(), principal(c), c.Params("id"), toNewItem(req))
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, toEvidenceItemView(it))
}

type evidenceItemList struct {
	Items      []evidenceItemView `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// listEvidenceItems answers GET /v1/cases/{id}/evidence: the case's items, oldest first, paged.
func (s *Server) listEvidenceItems(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	lq := pageQuery{Limit: q.integer("limit", evidence.DefaultItemPage)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Evidence.ListItems(c.UserContext(), principal(c), c.Params("id"), after, lq.Limit)
	if err != nil {
		return err
	}
	list := evidenceItemList{Items: make([]evidenceItemView, len(page.Items))}
	for i, it := range page.Items {
		list.Items[i] = toEvidenceItemView(it)
	}
	list.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, list)
}

// getEvidenceItem answers GET /v1/cases/{id}/evidence/{item}.
func (s *Server) getEvidenceItem(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	it, err := s.deps.Evidence.Item(c.UserContext(), principal(c), c.Params("id"), c.Params("item"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toEvidenceItemView(it))
}

// appendCustodyEvent answers POST /v1/cases/{id}/evidence/{item}/events: 201 with the event, the
// item after it and the signed receipt of the new head; 200 with the stored event for a retry.
func (s *Server) appendCustodyEvent(c *fiber.Ctx) error {
	var req newEventBody
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	a, err := s.deps.Evidence.Append(c.UserContext(), principal(c), c.Params("id"), c.Params("item"), toNewEvent(req))
	if err != nil {
		return err
	}
	if a.New {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, appendedView{Event: toCustodyEventView(a.Event), Item: toEvidenceItemView(a.Item), Receipt: toReceiptView(a.Receipt)})
}

type custodyEventList struct {
	Items      []custodyEventView `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// listCustodyEvents answers GET /v1/cases/{id}/evidence/{item}/events: the chain, oldest first, paged.
func (s *Server) listCustodyEvents(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	cq := pageQuery{Limit: q.integer("limit", defaultPageSize)}
	var after int64
	if key := q.cursor(); key != "" {
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil || n < 0 {
			q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
		}
		after = n
	}
	if err := q.done(s.validate, &cq); err != nil {
		return err
	}
	events, next, err := s.deps.Evidence.Events(c.UserContext(), principal(c), c.Params("id"), c.Params("item"), after, cq.Limit)
	if err != nil {
		return err
	}
	list := custodyEventList{Items: make([]custodyEventView, len(events))}
	for i, e := range events {
		list.Items[i] = toCustodyEventView(e)
	}
	list.NextCursor = seqCursorOrNil(next)
	return s.sendPrivate(c, list)
}

type verifyQuery struct {
	Receipt string `query:"receipt" validate:"max=4096"`
}

// verifyEvidenceItem answers GET /v1/cases/{id}/evidence/{item}/verify[?receipt=<jws>].
func (s *Server) verifyEvidenceItem(c *fiber.Ctx) error {
	q := readQuery(c, "receipt")
	vq := verifyQuery{Receipt: q.str("receipt")}
	if err := q.done(s.validate, &vq); err != nil {
		return err
	}
	r, err := s.deps.Evidence.VerifyItem(c.UserContext(), principal(c), c.Params("id"), c.Params("item"), vq.Receipt)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toChainReportView(r))
}

type caseEvidenceReportView struct {
	CaseID string            `json:"case_id"`
	OK     bool              `json:"ok"`
	Items  []chainReportView `json:"items"`
}

// verifyCaseEvidence answers GET /v1/cases/{id}/evidence-verification: every item's chain.
func (s *Server) verifyCaseEvidence(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	r, err := s.deps.Evidence.VerifyCase(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	v := caseEvidenceReportView{CaseID: r.CaseID, OK: r.OK, Items: make([]chainReportView, len(r.Items))}
	for i, it := range r.Items {
		v.Items[i] = toChainReportView(it)
	}
	return s.sendPrivate(c, v)
}
