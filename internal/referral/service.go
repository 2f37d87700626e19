package referral

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Limits, in characters.
const (
	MaxNoteLen   = 2000
	MaxReasonLen = 500
	MaxOrgIDLen  = 64
)

// Service sends, receives and moves referrals through their statuses, enforcing who may see which
// (the sender's case access, the receiving organisation's supervisors and the caseworkers of the
// receiving case) and recording every step in both organisations' audit logs.
type Service struct {
	store      Store
	cases      Cases
	consents   Consents
	orgs       Directory
	interviews Interviews // nil: the interviews part cannot be shared
	audit      audit.Recorder
	now        func() time.Time
}

// NewService returns a Service. now is the clock (nil: time.Now).
func NewService(store Store, cases Cases, consents Consents, orgs Directory, events audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, consents: consents, orgs: orgs, audit: events, now: now}
}

// WithInterviews lets referrals share the interviews part: on acceptance the approved sessions of
// the sender's case are copied into the receiver's case (see Interviews). Without it a referral
// that shares interviews is refused with a field error on parts.
func (s *Service) WithInterviews(i Interviews) *Service {
	s.interviews = i
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// OpenReferral reports whether a referral sent from or received into case caseID is open (the
// erasure service refuses to erase such a case). It returns the store's error.
func (s *Service) OpenReferral(ctx context.Context, caseID string) (bool, error) {
	return s.store.OpenReferral(ctx, caseID)
}

// NewReferral is a referral to send.
type NewReferral struct {
	ID      string
	Kind    Kind // "" means KindReferral
	ToOrgID string
	Service identity.ServiceKind
	Urgency Urgency
	Parts   []consent.Part // ignored for a transfer, which shares every sharable part
	Note    string
}

// Send sends a referral of case caseID. Sharing parts needs a current consent of the case covering
// the receiving organisation and every part. Repeating a send (same id, case and content) returns
// the stored referral with created false. It returns identity.ErrForbidden for roles without
// case access; a NotFound *apperr.Error for a case the caller may not see; an *apperr.Error Invalid
// with field errors for bad values (unknown organisation, the caller's own, unknown service,
// urgency or part) or case_closed for a closed case; an *apperr.Error Unprocessable
// (consent_required, with a field error on parts) when no consent covers the sharing; an
// *apperr.Error Conflict (referral_id_conflict) when the id is taken by another case's referral or
// by one of this case's sent with other content; or the store's or recorder's error.
func (s *Service) Send(ctx context.Context, p identity.Principal, caseID string, nr NewReferral) (Referral, bool, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
	if err != nil {
		return Referral{}, false, err
	}
	now := s.clock()
	r, err := s.validate(ctx, p, nr)
	if err != nil {
		return Referral{}, false, err
	}
	if cs.Status != casework.StatusOpen {
		return Referral{}, false, errCaseClosed()
	}
	if len(r.Parts) > 0 {
		c, ok, err := s.consents.Covering(ctx, cs.ID, r.ToOrgID, r.Parts, now)
		if err != nil {
			return Referral{}, false, err
		}
		if !ok {
			return Referral{}, false, s.refused(ctx, p, role, ActionCreate, r.ID, errConsentRequired())
		}
		r.ConsentID = c.ID
	}
	r.FromOrgID, r.FromCaseID, r.SentBy, r.Status, r.SentAt, r.UpdatedAt, r.Version = cs.OrgID, cs.ID, p.UserID, StatusSent, now, now, 1
	r.History = []Step{{Status: StatusSent, At: now, OrgID: cs.OrgID, By: p.UserID}}
	err = s.store.CreateReferral(ctx, r)
	if errors.Is(err, ErrExists) {
		cur, rerr := s.store.Referral(ctx, r.ID)
		if rerr != nil {
			return Referral{}, false, fmt.Errorf("reading referral %s: %w", r.ID, rerr)
		}
		if cur.FromCaseID != cs.ID {
			return Referral{}, false, errIDConflict(r.ID)
		}
		if !sameSend(cur, r) {
			return Referral{}, false, errIDReused(r.ID)
		}
		if err := s.record(ctx, p, role, ActionCreate, cur.ID); err != nil {
			return Referral{}, false, err
		}
		return s.withConsent(ctx, cur), false, nil
	}
	if err != nil {
		return Referral{}, false, fmt.Errorf("sending referral %s: %w", r.ID, err)
	}
	if err := s.recordBoth(ctx, p, role, r, ActionCreate, ActionReceive); err != nil {
		return Referral{}, false, err
	}
	return s.withConsent(ctx, r), true, nil
}

// sameSend reports whether the stored referral cur was sent with what r asks: a retry of the same
// send, not another referral under a reused id.
func sameSend(cur, r Referral) bool {
	return cur.Kind == r.Kind && cur.ToOrgID == r.ToOrgID && cur.Service == r.Service && cur.Urgency == r.Urgency &&
		cur.Note == r.Note && (r.Kind == KindTransfer || slices.Equal(cur.Parts, r.Parts))
}

// validate checks nr and returns the referral it describes (without its case and sender).
func (s *Service) validate(ctx context.Context, p identity.Principal, nr NewReferral) (Referral, error) {
	var fe apperr.FieldErrors
	fe.UUID("id", nr.ID)
	r := Referral{ID: nr.ID, Kind: nr.Kind, ToOrgID: nr.ToOrgID, Service: nr.Service, Urgency: nr.Urgency, Note: strings.TrimSpace(nr.Note)}
	if r.Kind == "" {
		r.Kind = KindReferral
	}
	apperr.OneOf(&fe, "kind", r.Kind, Kinds)
	apperr.OneOf(&fe, "service", r.Service, identity.ServiceKinds)
	if r.Urgency == "" {
		r.Urgency = UrgencyRoutine
	}
	apperr.OneOf(&fe, "urgency", r.Urgency, Urgencies)
	switch {
	case r.ToOrgID == "":
		fe.Add("to_org_id", "required", "field.required", nil)
	case r.ToOrgID == p.OrgID:
		fe.Add("to_org_id", "own_organisation", "field.own_organisation", nil)
	default:
		if _, err := s.orgs.Organisation(ctx, r.ToOrgID); errors.Is(err, identity.ErrNotFound) {
			fe.Add("to_org_id", "unknown_organisation", "field.unknown_organisation", nil)
		} else if err != nil {
			return Referral{}, err
		}
	}
	sharable := s.sharableParts()
	if r.Kind == KindTransfer {
		r.Parts = sharable
	} else {
		for i, part := range nr.Parts {
			apperr.OneOf(&fe, fmt.Sprintf("parts[%d]", i), part, sharable)
		}
		for _, part := range sharable {
			if slices.Contains(nr.Parts, part) {
				r.Parts = append(r.Parts, part)
			}
		}
	}
	fe.MaxLength("note", r.Note, MaxNoteLen)
	return r, fe.Err()
}

// sharableParts returns the parts a referral of this Service can share: SharableParts, less the
// interviews when no Interviews copies them.
func (s *Service) sharableParts() []consent.Part {
	if s.interviews != nil {
		return slices.Clone(SharableParts)
	}
	return slices.DeleteFunc(slices.Clone(SharableParts), func(p consent.Part) bool { return p == consent.PartInterviews })
}

// ListForCase returns the referrals sent from case caseID, by id, as the sender sees them. Errors:
// identity.ErrForbidden for roles without case access, a NotFound *apperr.Error for a case the caller
// may not see, or the store's or recorder's error.
func (s *Service) ListForCase(ctx context.Context, p identity.Principal, caseID string) ([]Referral, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListByCase(ctx, cs.ID)
	if err != nil {
		return nil, fmt.Errorf("listing referrals of case %s: %w", cs.ID, err)
	}
	if err := s.record(ctx, p, role, ActionList, ""); err != nil {
		return nil, err
	}
	for i := range list {
		list[i] = s.withConsent(ctx, list[i])
	}
	return list, nil
}

// GetForCase returns referral id of case caseID as the sender sees it. Errors: as ListForCase's,
// and a NotFound *apperr.Error (referral_not_found) for a referral not sent from that case.
func (s *Service) GetForCase(ctx context.Context, p identity.Principal, caseID, id string) (Referral, error) {
	r, role, err := s.sent(ctx, p, caseID, id, ActionRead)
	if err != nil {
		return Referral{}, err
	}
	if err := s.record(ctx, p, role, ActionRead, r.ID); err != nil {
		return Referral{}, err
	}
	return s.withConsent(ctx, r), nil
}

// Cancel cancels a referral of case caseID that was not answered yet (status sent), at version,
// with a reason. Withdraw withdraws one that was accepted or is in progress. Both return the referral
// at its new version. Errors: as GetForCase's; an *apperr.Error Invalid with field errors for a
// missing or too long reason; an *apperr.Error Conflict (referral_status) when the status does not
// allow the step, or (version_conflict) wrapping a *StaleError when version is not current.
func (s *Service) Cancel(ctx context.Context, p identity.Principal, caseID, id, reason string, version int64) (Referral, error) {
	return s.senderStep(ctx, p, caseID, id, reason, version, ActionCancel, StatusCancelled, StatusSent)
}

// Withdraw withdraws an accepted or in-progress referral of case caseID; see Cancel.
func (s *Service) Withdraw(ctx context.Context, p identity.Principal, caseID, id, reason string, version int64) (Referral, error) {
	return s.senderStep(ctx, p, caseID, id, reason, version, ActionWithdraw, StatusWithdrawn, StatusAccepted, StatusInProgress)
}

func (s *Service) senderStep(ctx context.Context, p identity.Principal, caseID, id, reason string, version int64, action string, to Status, from ...Status) (Referral, error) {
	reason = strings.TrimSpace(reason)
	var fe apperr.FieldErrors
	if fe.Required("reason", reason) {
		fe.MaxLength("reason", reason, MaxReasonLen)
	}
	r, role, err := s.sent(ctx, p, caseID, id, action)
	if err != nil {
		return Referral{}, err
	}
	if err := fe.Err(); err != nil {
		return Referral{}, err
	}
	next, err := s.step(ctx, p, role, r, version, action, to, false, func(n *Referral) { n.Reason = reason }, from...)
	if err != nil {
		return Referral{}, err
	}
	return s.withConsent(ctx, next), nil
}

// sent reads referral id sent from case caseID, checking the caller's access to the case; a refusal
// is recorded as action denied.
func (s *Service) sent(ctx context.Context, p identity.Principal, caseID, id, action string) (Referral, identity.Role, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, action)
	if err != nil {
		return Referral{}, "", err
	}
	r, err := s.read(ctx, id)
	if err == nil && r.FromCaseID != cs.ID {
		err = errNotFound(id)
	}
	if err != nil {
		return Referral{}, "", s.refused(ctx, p, role, action, id, err)
	}
	return r, role, nil
}

// read reads referral id: a NotFound *apperr.Error when there is none.
func (s *Service) read(ctx context.Context, id string) (Referral, error) {
	if !apperr.ValidUUID(id) {
		return Referral{}, errNotFound(id)
	}
	r, err := s.store.Referral(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Referral{}, errNotFound(id)
	}
	if err != nil {
		return Referral{}, fmt.Errorf("reading referral %s: %w", id, err)
	}
	return r, nil
}

// step moves r at version to status to when its status is one of from, changed further by change,
// stores it and records action in both organisations' logs. receiver says which side acts (for the
// stale error's view).
func (s *Service) step(ctx context.Context, p identity.Principal, role identity.Role, r Referral, version int64, action string, to Status, receiver bool, change func(*Referral), from ...Status) (Referral, error) {
	if r.Version != version {
		return Referral{}, s.refused(ctx, p, role, action, r.ID, errStale(s.withConsent(ctx, r), receiver))
	}
	if !slices.Contains(from, r.Status) {
		return Referral{}, s.refused(ctx, p, role, action, r.ID, errStatus(r.Status))
	}
	now := s.clock()
	next := r.clone()
	next.Status, next.UpdatedAt, next.Version = to, now, r.Version+1
	next.History = append(next.History, Step{Status: to, At: now, OrgID: p.OrgID, By: p.UserID})
	if change != nil {
		change(&next)
	}
	if err := s.store.UpdateReferral(ctx, next); errors.Is(err, ErrStale) {
		cur, rerr := s.read(ctx, r.ID)
		if rerr != nil {
			return Referral{}, rerr
		}
		return Referral{}, s.refused(ctx, p, role, action, r.ID, errStale(s.withConsent(ctx, cur), receiver))
	} else if err != nil {
		return Referral{}, fmt.Errorf("updating referral %s: %w", r.ID, err)
	}
	if err := s.recordBoth(ctx, p, role, next, action, action); err != nil {
		return Referral{}, err
	}
	return next, nil
}

// withConsent fills r.ConsentStatus: where the consent r was made under stands now. A consent that
// cannot be read (its case was erased) counts as withdrawn.
func (s *Service) withConsent(ctx context.Context, r Referral) Referral {
	if r.ConsentID == "" {
		return r
	}
	c, err := s.consents.Get(ctx, r.ConsentID)
	if err != nil {
		r.ConsentStatus = consent.StatusWithdrawn
		return r
	}
	r.ConsentStatus = c.StatusAt(s.clock())
	return r
}

// refused records action on referral id as denied (not found) or failed (anything else) in the
// caller's log and returns cause.
func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, action, id string, cause error) error {
	outcome := audit.OutcomeFailure
	if errors.Is(cause, ErrNotFound) {
		outcome = audit.OutcomeDenied
	}
	return audit.Refusal(ctx, s.audit, p.AuditEvent(role, action, Resource, id, outcome), cause)
}

// record records a successful action in the caller's log.
func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, id string) error {
	return audit.Record(ctx, s.audit, p.AuditEvent(role, action, Resource, id, audit.OutcomeSuccess))
}

// recordBoth records a step of r in the caller's log as action and in the other organisation's log
// as otherAction (the same actor: the log says who, from which organisation, did what to the
// referral).
func (s *Service) recordBoth(ctx context.Context, p identity.Principal, role identity.Role, r Referral, action, otherAction string) error {
	if err := s.record(ctx, p, role, action, r.ID); err != nil {
		return err
	}
	e := p.AuditEvent(role, otherAction, Resource, r.ID, audit.OutcomeSuccess)
	e.OrgID = r.ToOrgID
	if p.OrgID == r.ToOrgID {
		e.OrgID = r.FromOrgID
	}
	if err := s.audit.RecordEvent(ctx, e); err != nil {
		return fmt.Errorf("recording %s: %w", otherAction, err)
	}
	return nil
}
