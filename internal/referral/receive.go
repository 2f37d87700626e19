package referral

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Page sizes of the inbox.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// receivingCaseSpace is the namespace of the receivers' case ids: the case an acceptance creates is
// uuid.NewSHA1(receivingCaseSpace, referral id), so a retried acceptance finds the case the first
// try created instead of making a second one (there are no transactions to tie the two writes).
var receivingCaseSpace = uuid.MustParse("6f1c2d0e-8a4b-5c3d-9e7f-0a1b2c3d4e5f")

// ReceivingCaseID returns the id of the case the acceptance of referral id creates: a UUIDv5
// (SHA-1, name-based), stable and not secret.
func ReceivingCaseID(referralID string) string {
	return uuid.NewSHA1(receivingCaseSpace, []byte(referralID)).String()
}

// InboxPage is one page of an organisation's received referrals; Next is the cursor of the
// following page ("" on the last one).
type InboxPage struct {
	Referrals []Referral
	Next      string
}

// Inbox returns up to limit (0: DefaultPageSize, at most MaxPageSize) referrals received by the
// caller's organisation (status "": any) with ids after the cursor after, by id: supervisors only.
// It returns identity.ErrForbidden for other roles; an *apperr.Error Invalid for a bad status or
// cursor; or the store's or recorder's error.
func (s *Service) Inbox(ctx context.Context, p identity.Principal, status Status, after string, limit int) (InboxPage, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return InboxPage{}, s.refused(ctx, p, "", ActionList, "", identity.ErrForbidden)
	}
	var fe apperr.FieldErrors
	if status != "" {
		apperr.OneOf(&fe, "status", status, Statuses)
	}
	if after != "" && !apperr.ValidUUID(after) {
		fe.Add("cursor", "invalid", "field.cursor", nil)
	}
	if err := fe.Err(); err != nil {
		return InboxPage{}, err
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	list, err := s.store.ListReceived(ctx, p.OrgID, status, after, limit+1)
	if err != nil {
		return InboxPage{}, fmt.Errorf("listing received referrals: %w", err)
	}
	page := InboxPage{Referrals: make([]Referral, 0, min(len(list), limit))}
	for _, r := range list {
		if r.ToOrgID != p.OrgID {
			continue // the store filter excludes these; never hand one out if it did not
		}
		if len(page.Referrals) == limit {
			page.Next = page.Referrals[limit-1].ID
			break
		}
		page.Referrals = append(page.Referrals, s.withConsent(ctx, r))
	}
	if err := s.record(ctx, p, identity.RoleSupervisor, ActionList, ""); err != nil {
		return InboxPage{}, err
	}
	return page, nil
}

// receiverNeed says who of the receiving organisation may take a step.
type receiverNeed int

const (
	supervisorsOnly receiverNeed = iota // accept, decline
	assignedOrAbove                     // read, start, complete: also the caseworkers of the receiving case
)

// received reads referral id received by the caller's organisation and checks the caller may act
// on it: a supervisor of the receiving organisation, or (need assignedOrAbove) a caseworker assigned
// to the receiving case. Anyone of another organisation, and a caseworker not assigned, gets a
// NotFound *apperr.Error; other roles identity.ErrForbidden. A refusal is recorded as action denied.
func (s *Service) received(ctx context.Context, p identity.Principal, id, action string, need receiverNeed) (Referral, identity.Role, error) {
	if !p.HasAnyRole(identity.RoleSupervisor, identity.RoleCaseworker) || p.OrgID == "" {
		return Referral{}, "", s.refused(ctx, p, "", action, id, identity.ErrForbidden)
	}
	r, err := s.read(ctx, id)
	if err != nil {
		return Referral{}, "", s.refused(ctx, p, "", action, id, err)
	}
	if r.ToOrgID != p.OrgID {
		return Referral{}, "", s.refused(ctx, p, "", action, id, errNotFound(id))
	}
	if p.HasRole(identity.RoleSupervisor) {
		return r, identity.RoleSupervisor, nil
	}
	if need == assignedOrAbove && r.ToCaseID != "" {
		cs, err := s.cases.CaseByID(ctx, r.ToCaseID)
		if err != nil && !errors.Is(err, casework.ErrNotFound) {
			return Referral{}, "", err
		}
		if err == nil && cs.OrgID == p.OrgID && slices.Contains(cs.CaseworkerIDs, p.UserID) {
			return r, identity.RoleCaseworker, nil
		}
	}
	if need == supervisorsOnly {
		return Referral{}, "", s.refused(ctx, p, "", action, id, identity.ErrForbidden)
	}
	return Referral{}, "", s.refused(ctx, p, "", action, id, errNotFound(id))
}

// Get returns referral id as its receiver sees it (with where its consent stands). Errors: as
// received's, or the recorder's.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Referral, error) {
	r, role, err := s.received(ctx, p, id, ActionRead, assignedOrAbove)
	if err != nil {
		return Referral{}, err
	}
	if err := s.record(ctx, p, role, ActionRead, r.ID); err != nil {
		return Referral{}, err
	}
	return s.withConsent(ctx, r), nil
}

// Acceptance is what the receiver adds to the shared parts when it accepts: its own reference
// number, the child's details and case types it must give when those parts were not shared (shared
// parts win), and who works on the case.
type Acceptance struct {
	ReferenceNumber string
	Child           *casework.Child
	CaseTypes       []protocol.CaseType
	CaseworkerIDs   []string
	SupervisorID    string
}

// Accept accepts referral id at version, as a supervisor of the receiving organisation: the
// organisation gets a case of its own (id ReceivingCaseID(id)) holding only the shared parts, read
// from the sender's case now, under a consent that must still stand; a transfer also closes the
// sender's case for good. A retry after a failure part-way finds the case created before and
// finishes. It returns the referral at its new version and the new case. Errors: as received's; an
// *apperr.Error Unprocessable (consent_withdrawn) when the consent no longer covers the sharing;
// the field errors of casework.Service.Create for the case (for example child.age_band when the
// profile was not shared and not given); an *apperr.Error Conflict (referral_status, or
// version_conflict wrapping a *StaleError); or the store's or recorder's error.
func (s *Service) Accept(ctx context.Context, p identity.Principal, id string, a Acceptance, version int64) (Referral, casework.Case, error) {
	r, role, err := s.received(ctx, p, id, ActionAccept, supervisorsOnly)
	if err != nil {
		return Referral{}, casework.Case{}, err
	}
	if r.Version != version {
		return Referral{}, casework.Case{}, s.refused(ctx, p, role, ActionAccept, id, errStale(s.withConsent(ctx, r), true))
	}
	if r.Status != StatusSent {
		return Referral{}, casework.Case{}, s.refused(ctx, p, role, ActionAccept, id, errStatus(r.Status))
	}
	if len(r.Parts) > 0 {
		c, err := s.consents.Get(ctx, r.ConsentID)
		if err != nil || !c.Covers(r.ToOrgID, r.Parts, s.clock()) {
			return Referral{}, casework.Case{}, s.refused(ctx, p, role, ActionAccept, id, errConsentWithdrawn())
		}
	}
	cs, err := s.receivingCase(ctx, p, r, a)
	if err != nil {
		return Referral{}, casework.Case{}, err
	}
	next, err := s.step(ctx, p, role, r, version, ActionAccept, StatusAccepted, true, func(n *Referral) { n.ToCaseID = cs.ID }, StatusSent)
	if err != nil {
		var stale *StaleError
		if errors.As(err, &stale) && stale.Current.ToCaseID == cs.ID && stale.Current.Status != StatusSent {
			return s.withConsent(ctx, stale.Current), cs, nil // a concurrent retry of the same acceptance finished first
		}
		return Referral{}, casework.Case{}, err
	}
	if r.Kind == KindTransfer {
		if err := s.cases.CloseTransferred(ctx, r.FromCaseID, r.ID, next.UpdatedAt); err != nil {
			return Referral{}, casework.Case{}, err
		}
	}
	return s.withConsent(ctx, next), cs, nil
}

// receivingCase returns the receiver's case of referral r (the one an earlier try created, or a new
// one made of the shared parts of the sender's case and the acceptance, created as p) with the
// sender's approved interviews copied into it when r shares them.
func (s *Service) receivingCase(ctx context.Context, p identity.Principal, r Referral, a Acceptance) (casework.Case, error) {
	cs, err := s.caseFor(ctx, p, r, a)
	if err != nil || !slices.Contains(r.Parts, consent.PartInterviews) {
		return cs, err
	}
	_, err = s.interviews.ShareApproved(ctx, p, r.FromCaseID, cs, r.ID)
	return cs, err
}

// caseFor returns the case of the receiver of r: the one an earlier try created, or a new one.
func (s *Service) caseFor(ctx context.Context, p identity.Principal, r Referral, a Acceptance) (casework.Case, error) {
	caseID := ReceivingCaseID(r.ID)
	if cs, err := s.cases.CaseByID(ctx, caseID); err == nil && cs.OrgID == r.ToOrgID {
		return cs, nil
	} else if err != nil && !errors.Is(err, casework.ErrNotFound) {
		return casework.Case{}, err
	}
	from, err := s.cases.CaseByID(ctx, r.FromCaseID)
	if err != nil {
		return casework.Case{}, err
	}
	nc := casework.NewCase{ID: caseID, ReferenceNumber: strings.TrimSpace(a.ReferenceNumber), CaseTypes: a.CaseTypes,
		CaseworkerIDs: a.CaseworkerIDs, SupervisorID: a.SupervisorID}
	if a.Child != nil {
		nc.Child = *a.Child
	}
	if slices.Contains(r.Parts, consent.PartProfile) {
		needs := nc.Child.Needs
		nc.Child = from.Child
		nc.Child.Needs = needs
	}
	if slices.Contains(r.Parts, consent.PartNeeds) {
		nc.Child.Needs = from.Child.Needs
	}
	if slices.Contains(r.Parts, consent.PartCaseTypes) {
		nc.CaseTypes = slices.Clone(from.CaseTypes)
	}
	cs, _, err := s.cases.Create(ctx, p, nc)
	return cs, err
}

// Decline declines referral id at version with a reason (the sender reads it), as a supervisor of
// the receiving organisation. Errors: as received's; an *apperr.Error Invalid for a missing or too
// long reason; Conflict (referral_status, version_conflict).
func (s *Service) Decline(ctx context.Context, p identity.Principal, id, reason string, version int64) (Referral, error) {
	reason = strings.TrimSpace(reason)
	var fe apperr.FieldErrors
	if fe.Required("reason", reason) {
		fe.MaxLength("reason", reason, MaxReasonLen)
	}
	r, role, err := s.received(ctx, p, id, ActionDecline, supervisorsOnly)
	if err != nil {
		return Referral{}, err
	}
	if err := fe.Err(); err != nil {
		return Referral{}, err
	}
	next, err := s.step(ctx, p, role, r, version, ActionDecline, StatusDeclined, true, func(n *Referral) { n.Reason = reason }, StatusSent)
	if err != nil {
		return Referral{}, err
	}
	return s.withConsent(ctx, next), nil
}

// Start marks accepted referral id at version as in progress, with an optional note of the
// receiver's own (never shown to the sender). Complete completes an accepted or in-progress one
// with an outcome (required; the sender reads it) and an optional note of the receiver's own.
// Errors: as received's (supervisors of the receiving organisation, and caseworkers of the receiving
// case); an *apperr.Error Invalid with field errors; Conflict (referral_status, version_conflict).
func (s *Service) Start(ctx context.Context, p identity.Principal, id, note string, version int64) (Referral, error) {
	return s.receiverStep(ctx, p, id, "", note, version, ActionStart, StatusInProgress, StatusAccepted)
}

// Complete completes referral id; see Start.
func (s *Service) Complete(ctx context.Context, p identity.Principal, id, outcome, note string, version int64) (Referral, error) {
	return s.receiverStep(ctx, p, id, outcome, note, version, ActionComplete, StatusCompleted, StatusAccepted, StatusInProgress)
}

func (s *Service) receiverStep(ctx context.Context, p identity.Principal, id, outcome, note string, version int64, action string, to Status, from ...Status) (Referral, error) {
	outcome, note = strings.TrimSpace(outcome), strings.TrimSpace(note)
	var fe apperr.FieldErrors
	if to == StatusCompleted && fe.Required("outcome", outcome) {
		fe.MaxLength("outcome", outcome, MaxNoteLen)
	}
	fe.MaxLength("note", note, MaxNoteLen)
	r, role, err := s.received(ctx, p, id, action, assignedOrAbove)
	if err != nil {
		return Referral{}, err
	}
	if err := fe.Err(); err != nil {
		return Referral{}, err
	}
	next, err := s.step(ctx, p, role, r, version, action, to, true, func(n *Referral) {
		if outcome != "" {
			n.Outcome = outcome
		}
		if note != "" {
			n.ReceiverNote = note
		}
	}, from...)
	if err != nil {
		return Referral{}, err
	}
	return s.withConsent(ctx, next), nil
}
