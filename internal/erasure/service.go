package erasure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Service requests, confirms and rejects erasures, and lists the cases due for erasure.
type Service struct {
	store     Store
	cases     Cases
	evidence  Evidence
	eraser    Eraser
	referrals Referrals
	events    audit.Recorder
	policy    Policy
	now       func() time.Time
}

// NewService returns the erasure service.
func NewService(store Store, cases Cases, ev Evidence, eraser Eraser, events audit.Recorder, policy Policy, now func() time.Time) *Service {
	return &Service{store: store, cases: cases, evidence: ev, eraser: eraser, referrals: noReferrals{}, events: events, policy: policy, now: now}
}

// Policy returns the retention policy.
func (s *Service) Policy() Policy { return s.policy }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, rtype, id string, outcome audit.Outcome) error {
	return audit.Record(ctx, s.events, p.AuditEvent(role, action, rtype, id, outcome))
}

// refused records action as denied (or failed, for a refusal by the policy) and returns cause.
func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, action, rtype, id string, cause error) error {
	outcome := audit.OutcomeFailure
	var ae *apperr.Error
	if errors.As(cause, &ae) && (ae.Kind == apperr.NotFound || ae.Kind == apperr.Forbidden) || errors.Is(cause, identity.ErrForbidden) {
		outcome = audit.OutcomeDenied
	}
	if !apperr.ValidUUID(id) {
		id = ""
	}
	if err := s.record(ctx, p, role, action, rtype, id, outcome); err != nil {
		return err
	}
	return cause
}

func checkReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errReason()
	}
	if utf8.RuneCountInString(reason) > MaxReasonLen {
		return apperr.Validation(apperr.FieldError{Field: "reason", Code: "max", MessageID: "field.max", Data: map[string]any{"Max": MaxReasonLen}})
	}
	return nil
}

// caseOf reads a case of p's organisation: a NotFound *apperr.Error for none or another's.
func (s *Service) caseOf(ctx context.Context, p identity.Principal, caseID string) (casework.Case, error) {
	if !apperr.ValidUUID(caseID) {
		return casework.Case{}, errCaseNotFound(caseID)
	}
	c, err := s.cases.Case(ctx, caseID)
	if errors.Is(err, casework.ErrNotFound) || err == nil && c.OrgID != p.OrgID {
		return casework.Case{}, errCaseNotFound(caseID)
	}
	if err != nil {
		return casework.Case{}, fmt.Errorf("reading case %s: %w", caseID, err)
	}
	return c, nil
}

// allowed checks the retention policy for case c now: a Conflict *apperr.Error saying why not.
func (s *Service) allowed(ctx context.Context, c casework.Case) error {
	if c.Erased {
		return nil // erased already: confirming again finishes an interrupted erasure
	}
	if c.Status != casework.StatusClosed || c.ClosedAt == nil {
		return errCaseOpen()
	}
	if until := c.ClosedAt.Add(s.policy.RetainAfterClose); s.now().Before(until) {
		return errRetentionRunning(until)
	}
	held, err := s.evidence.HeldItems(ctx, c.OrgID, c.ID)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return errLegalHold(len(held))
	}
	open, err := s.referrals.OpenReferral(ctx, c.ID)
	if err != nil {
		return err
	}
	if open {
		return errReferralOpen()
	}
	return nil
}

// RequestErasure records a supervisor's request to erase case caseID, with a reason. It returns
// identity.ErrForbidden for other roles, NotFound for a case of another organisation or none, a
// Conflict when the policy forbids the erasure now or a request is pending, Invalid for a missing
// reason, or the store's or recorder's error.
func (s *Service) RequestErasure(ctx context.Context, p identity.Principal, caseID, reason string) (Request, error) {
	if !p.HasRole(identity.RoleSupervisor) {
		return Request{}, s.refused(ctx, p, "", ActionRequest, resourceCase, caseID, identity.ErrForbidden)
	}
	role := identity.RoleSupervisor
	if err := checkReason(reason); err != nil {
		return Request{}, err
	}
	c, err := s.caseOf(ctx, p, caseID)
	if err != nil {
		return Request{}, s.refused(ctx, p, role, ActionRequest, resourceCase, caseID, err)
	}
	if c.Erased {
		return Request{}, s.refused(ctx, p, role, ActionRequest, resourceCase, caseID, errDecided(StatusConfirmed))
	}
	if err := s.allowed(ctx, c); err != nil {
		return Request{}, s.refused(ctx, p, role, ActionRequest, resourceCase, caseID, err)
	}
	r := Request{ID: uuid.Must(uuid.NewV7()).String(), OrgID: p.OrgID, CaseID: caseID, Status: StatusRequested,
		Reason: reason, RequestedBy: p.UserID, RequestedAt: s.clock()}
	err = s.store.Create(ctx, r)
	if errors.Is(err, ErrPending) {
		held, _, perr := s.store.Pending(ctx, caseID)
		if perr != nil {
			return Request{}, perr
		}
		return Request{}, s.refused(ctx, p, role, ActionRequest, resourceCase, caseID, errPending(held.ID))
	}
	if err != nil {
		return Request{}, err
	}
	if err := s.record(ctx, p, role, ActionRequest, resourceCase, caseID, audit.OutcomeSuccess); err != nil {
		return Request{}, err
	}
	return r, nil
}

// requestOf reads a request of p's organisation: NotFound for none or another's.
func (s *Service) requestOf(ctx context.Context, p identity.Principal, id string) (Request, error) {
	if !apperr.ValidUUID(id) {
		return Request{}, errRequestNotFound(id)
	}
	r, err := s.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && r.OrgID != p.OrgID {
		return Request{}, errRequestNotFound(id)
	}
	return r, err
}

// roleFor is the role p acts in when reading requests: supervisor or admin (identity.ErrForbidden
// otherwise).
func roleFor(p identity.Principal) (identity.Role, error) {
	switch {
	case p.HasRole(identity.RoleSupervisor):
		return identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleAdmin):
		return identity.RoleAdmin, nil
	}
	return "", identity.ErrForbidden
}

// Get returns an erasure request of p's organisation. It returns identity.ErrForbidden for roles
// other than supervisor and admin, NotFound, or the store's or recorder's error.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Request, error) {
	role, err := roleFor(p)
	if err != nil {
		return Request{}, s.refused(ctx, p, "", ActionRead, resourceReq, id, err)
	}
	r, err := s.requestOf(ctx, p, id)
	if err != nil {
		return Request{}, s.refused(ctx, p, role, ActionRead, resourceReq, id, err)
	}
	return r, s.record(ctx, p, role, ActionRead, resourceReq, id, audit.OutcomeSuccess)
}

// List returns the organisation's erasure requests, newest first (status "" for all). It returns
// identity.ErrForbidden for roles other than supervisor and admin, or the store's or recorder's error.
func (s *Service) List(ctx context.Context, p identity.Principal, status Status, limit int) ([]Request, error) {
	role, err := roleFor(p)
	if err != nil {
		return nil, s.refused(ctx, p, "", ActionList, resourceReq, "", err)
	}
	out, err := s.store.List(ctx, p.OrgID, status, limit)
	if err != nil {
		return nil, err
	}
	return out, s.record(ctx, p, role, ActionList, resourceReq, "", audit.OutcomeSuccess)
}

// Confirm has an administrator of the request's organisation, who is not the requester, confirm it
// with a reason: the retention policy is checked again, every custody chain of the case is verified
// and its head recorded in the request, and the case is erased (its data key destroyed). It returns
// identity.ErrForbidden for other roles, NotFound, a Conflict for a decided request, the same person
// or a policy refusal (the request then stays pending), Invalid for a missing reason, or the
// store's, eraser's or recorder's error.
func (s *Service) Confirm(ctx context.Context, p identity.Principal, id, reason string) (Request, error) {
	return s.decide(ctx, p, id, reason, true)
}

// Reject has an administrator reject a pending request with a reason. Errors as for Confirm, with no
// policy check.
func (s *Service) Reject(ctx context.Context, p identity.Principal, id, reason string) (Request, error) {
	return s.decide(ctx, p, id, reason, false)
}

func (s *Service) decide(ctx context.Context, p identity.Principal, id, reason string, confirm bool) (Request, error) {
	action := ActionReject
	if confirm {
		action = ActionConfirm
	}
	if !p.HasRole(identity.RoleAdmin) {
		return Request{}, s.refused(ctx, p, "", action, resourceReq, id, identity.ErrForbidden)
	}
	role := identity.RoleAdmin
	if err := checkReason(reason); err != nil {
		return Request{}, err
	}
	r, err := s.requestOf(ctx, p, id)
	if err != nil {
		return Request{}, s.refused(ctx, p, role, action, resourceReq, id, err)
	}
	if r.Status != StatusRequested {
		return Request{}, s.refused(ctx, p, role, action, resourceCase, r.CaseID, errDecided(r.Status))
	}
	if r.RequestedBy == p.UserID {
		return Request{}, s.refused(ctx, p, role, action, resourceCase, r.CaseID, errSamePerson())
	}
	now := s.clock()
	r.DecisionReason, r.DecidedBy, r.DecidedAt = reason, p.UserID, &now
	if !confirm {
		r.Status = StatusRejected
	} else {
		c, err := s.caseOf(ctx, p, r.CaseID)
		if err != nil {
			return Request{}, err
		}
		if err := s.allowed(ctx, c); err != nil {
			return Request{}, s.refused(ctx, p, role, action, resourceCase, r.CaseID, err)
		}
		rep, _, err := s.evidence.CaseChains(ctx, r.OrgID, r.CaseID)
		if err != nil {
			return Request{}, err
		}
		r.Chains = make([]ChainSeal, 0, len(rep.Items))
		for _, it := range rep.Items {
			r.Chains = append(r.Chains, ChainSeal{ItemID: it.ItemID, Events: it.Events, LastSeq: it.LastSeq, LastHash: it.LastHash, OK: it.OK})
		}
		if err := s.eraser.EraseCase(ctx, r.OrgID, r.CaseID, now); err != nil {
			return Request{}, fmt.Errorf("erasing case %s: %w", r.CaseID, err)
		}
		if err := s.record(ctx, p, role, ActionErase, resourceCase, r.CaseID, audit.OutcomeSuccess); err != nil {
			return Request{}, err
		}
		r.Status, r.ErasedAt = StatusConfirmed, &now
	}
	if err := s.store.Decide(ctx, r); errors.Is(err, ErrDecided) {
		cur, gerr := s.store.Get(ctx, id)
		if gerr != nil {
			return Request{}, gerr
		}
		return Request{}, errDecided(cur.Status)
	} else if err != nil {
		return Request{}, err
	}
	if err := s.record(ctx, p, role, action, resourceCase, r.CaseID, audit.OutcomeSuccess); err != nil {
		return Request{}, err
	}
	return r, nil
}

// Due lists the organisation's cases the retention policy allows to erase now (closed long enough,
// no legal hold, no open referral), oldest closure first, at most limit. It returns
// identity.ErrForbidden for roles other than supervisor and admin, or the stores' or recorder's error.
func (s *Service) Due(ctx context.Context, p identity.Principal, limit int) ([]Due, error) {
	role, err := roleFor(p)
	if err != nil {
		return nil, s.refused(ctx, p, "", ActionDue, resourceCase, "", err)
	}
	out := []Due{}
	after := ""
	for {
		page, err := s.cases.ListCases(ctx, casework.StoreFilter{OrgID: p.OrgID, Status: casework.StatusClosed}, after, 200)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if c.Erased || c.ClosedAt == nil {
				continue
			}
			if err := s.allowed(ctx, c); err != nil {
				var refusal *apperr.Error
				if errors.As(err, &refusal) && refusal.Kind == apperr.Conflict {
					continue // the policy keeps it
				}
				return nil, err
			}
			d := Due{CaseID: c.ID, ClosedAt: *c.ClosedAt, DueSince: c.ClosedAt.Add(s.policy.RetainAfterClose)}
			if r, ok, err := s.store.Pending(ctx, c.ID); err != nil {
				return nil, err
			} else if ok {
				d.Pending = r.ID
			}
			out = append(out, d)
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].ID
	}
	sortDue(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, s.record(ctx, p, role, ActionDue, resourceCase, "", audit.OutcomeSuccess)
}

// WithReferrals makes the Service refuse to erase a case with an open referral (sent from it or
// received into it), as r reports, and returns it.
func (s *Service) WithReferrals(r Referrals) *Service {
	s.referrals = r
	return s
}
