package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/erasure"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// erasureRoutes registers the retention and erasure routes (nil Erasure: none).
func (s *Server) erasureRoutes(app *fiber.App) {
	if s.deps.Erasure == nil {
		return
	}
	get, post := fiber.MethodGet, fiber.MethodPost
	both := rolesOnly(identity.RoleSupervisor, identity.RoleAdmin)
	s.handle(app, post, "/v1/cases/:id/erasure-requests", rolesOnly(identity.RoleSupervisor), s.requestErasure)
	s.handle(app, get, "/v1/erasure-requests", both, s.listErasureRequests)
	s.handle(app, get, "/v1/erasure-requests/:id", both, s.getErasureRequest)
	s.handle(app, post, "/v1/erasure-requests/:id/confirm", rolesOnly(identity.RoleAdmin), s.confirmErasure)
	s.handle(app, post, "/v1/erasure-requests/:id/reject", rolesOnly(identity.RoleAdmin), s.rejectErasure)
	s.handle(app, get, "/v1/retention/due", both, s.retentionDue)
}

type erasureReasonRequest struct {
	Reason string `json:"reason" validate:"required,max_erasure_reason"`
}

type chainSealView struct {
	ItemID   string `json:"item_id"`
	Events   int    `json:"events"`
	LastSeq  int64  `json:"last_seq"`
	LastHash string `json:"last_hash"`
	OK       bool   `json:"ok"`
}

type erasureRequestView struct {
	ID             string          `json:"id"`
	CaseID         string          `json:"case_id"`
	Status         string          `json:"status"`
	Reason         string          `json:"reason"`
	RequestedBy    string          `json:"requested_by"`
	RequestedAt    time.Time       `json:"requested_at"`
	DecisionReason *string         `json:"decision_reason"`
	DecidedBy      *string         `json:"decided_by"`
	DecidedAt      *time.Time      `json:"decided_at"`
	ErasedAt       *time.Time      `json:"erased_at"`
	Chains         []chainSealView `json:"chains"`
}

func toErasureRequestView(r erasure.Request) erasureRequestView {
	v := erasureRequestView{ID: r.ID, CaseID: r.CaseID, Status: string(r.Status), Reason: r.Reason, RequestedBy: r.RequestedBy,
		RequestedAt: r.RequestedAt, DecidedAt: r.DecidedAt, ErasedAt: r.ErasedAt, Chains: make([]chainSealView, 0, len(r.Chains))}
	if r.DecidedAt != nil {
		v.DecisionReason, v.DecidedBy = &r.DecisionReason, &r.DecidedBy
	}
	for _, c := range r.Chains {
		v.Chains = append(v.Chains, chainSealView(c))
	}
	return v
}

// requestErasure answers POST /v1/cases/{id}/erasure-requests: 201 with the pending request.
func (s *Server) requestErasure(c *fiber.Ctx) error {
	var req erasureReasonRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Erasure.RequestErasure(c.UserContext(), principal(c), c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusCreated)
	return s.sendPrivate(c, toErasureRequestView(r))
}

type erasureRequestList struct {
	Items []erasureRequestView `json:"items"`
}

type erasureListQuery struct {
	Status string `query:"status" validate:"omitempty,oneof=requested confirmed rejected"`
	Limit  int    `query:"limit" validate:"min=1,max=200"`
}

// listErasureRequests answers GET /v1/erasure-requests: the organisation's requests, newest first.
func (s *Server) listErasureRequests(c *fiber.Ctx) error {
	q := readQuery(c, "status", "limit")
	lq := erasureListQuery{Status: q.str("status"), Limit: q.integer("limit", defaultPageSize)}
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	rs, err := s.deps.Erasure.List(c.UserContext(), principal(c), erasure.Status(lq.Status), lq.Limit)
	if err != nil {
		return err
	}
	out := erasureRequestList{Items: make([]erasureRequestView, len(rs))}
	for i, r := range rs {
		out.Items[i] = toErasureRequestView(r)
	}
	return s.sendPrivate(c, out)
}

// getErasureRequest answers GET /v1/erasure-requests/{id}.
func (s *Server) getErasureRequest(c *fiber.Ctx) error {
	r, err := s.deps.Erasure.Get(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toErasureRequestView(r))
}

// confirmErasure answers POST /v1/erasure-requests/{id}/confirm: the case is erased.
func (s *Server) confirmErasure(c *fiber.Ctx) error {
	return s.decideErasure(c, s.deps.Erasure.Confirm)
}

// rejectErasure answers POST /v1/erasure-requests/{id}/reject.
func (s *Server) rejectErasure(c *fiber.Ctx) error {
	return s.decideErasure(c, s.deps.Erasure.Reject)
}

func (s *Server) decideErasure(c *fiber.Ctx, decide func(ctx context.Context, p identity.Principal, id, reason string) (erasure.Request, error)) error {
	var req erasureReasonRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := decide(c.UserContext(), principal(c), c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toErasureRequestView(r))
}

type dueView struct {
	CaseID         string    `json:"case_id"`
	ClosedAt       time.Time `json:"closed_at"`
	DueSince       time.Time `json:"due_since"`
	PendingRequest *string   `json:"pending_request"`
}

type dueList struct {
	RetainAfterCloseDays float64   `json:"retain_after_close_days"`
	Items                []dueView `json:"items"`
}

// retentionDue answers GET /v1/retention/due: the cases the retention policy allows to erase now.
func (s *Server) retentionDue(c *fiber.Ctx) error {
	q := readQuery(c, "limit")
	lq := erasureListQuery{Limit: q.integer("limit", defaultPageSize)}
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	ds, err := s.deps.Erasure.Due(c.UserContext(), principal(c), lq.Limit)
	if err != nil {
		return err
	}
	out := dueList{RetainAfterCloseDays: s.deps.Erasure.Policy().RetainAfterClose.Hours() / 24, Items: make([]dueView, len(ds))}
	for i, d := range ds {
		out.Items[i] = dueView{CaseID: d.CaseID, ClosedAt: d.ClosedAt, DueSince: d.DueSince}
		if d.Pending != "" {
			id := d.Pending
			out.Items[i].PendingRequest = &id
		}
	}
	return s.sendPrivate(c, out)
}
