package caseflag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Service raises, lists and resolves flags, as the caller: only on cases the caller may see
// (casework's rules), every access recorded in the audit log.
type Service struct {
	store  Store
	cases  Cases
	events audit.Recorder
	now    func() time.Time
}

// NewService returns the flags service. now is the clock (nil: time.Now).
func NewService(store Store, cases Cases, events audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, events: events, now: now}
}

// NewFlag is a flag to raise; ID is chosen by the client (a UUID).
type NewFlag struct {
	ID     string
	Kind   Kind
	Reason string
}

// Raise raises a flag on case caseID. Raising again the same flag (same id, kind and reason) changes
// nothing and returns the stored flag with created false. It returns identity.ErrForbidden for roles
// without case access; a NotFound *apperr.Error (case_not_found) for a case the caller may not see;
// an Invalid *apperr.Error with field errors for a bad id, kind or reason; a Conflict
// (flag_id_conflict) when the id is another flag's; an Invalid (case_closed) when the case is
// closed; or the store's or recorder's error.
func (s *Service) Raise(ctx context.Context, p identity.Principal, caseID string, nf NewFlag) (Flag, bool, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionRaise)
	if err != nil {
		return Flag{}, false, err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", nf.ID)
	apperr.OneOf(&fe, "kind", nf.Kind, Kinds)
	reason := checkReason(&fe, "reason", nf.Reason)
	if err := fe.Err(); err != nil {
		return Flag{}, false, err
	}
	if c.Status == casework.StatusClosed {
		return Flag{}, false, apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": c.ID})
	}
	f := Flag{ID: nf.ID, OrgID: c.OrgID, CaseID: c.ID, Kind: nf.Kind, Reason: reason, RaisedBy: p.UserID,
		RaisedAt: s.now().UTC().Truncate(time.Millisecond), Version: 1}
	err = s.store.CreateFlag(ctx, f)
	if errors.Is(err, ErrExists) {
		cur, gerr := s.store.Flag(ctx, f.ID)
		if gerr != nil {
			return Flag{}, false, fmt.Errorf("reading flag %s: %w", f.ID, gerr)
		}
		if cur.CaseID != f.CaseID || cur.Kind != f.Kind || cur.Reason != f.Reason {
			return Flag{}, false, s.refused(ctx, p, role, ActionRaise, f.ID, audit.OutcomeFailure, errFlagIDConflict(f.ID))
		}
		return cur, false, s.record(ctx, p, role, ActionRaise, f.ID, audit.OutcomeSuccess)
	}
	if err != nil {
		return Flag{}, false, fmt.Errorf("raising flag %s: %w", f.ID, err)
	}
	return f, true, s.record(ctx, p, role, ActionRaise, f.ID, audit.OutcomeSuccess)
}

// List returns the flags of case caseID, resolved ones included, by time raised. Errors as for
// Raise's case access, or the store's or recorder's error.
func (s *Service) List(ctx context.Context, p identity.Principal, caseID string) ([]Flag, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	fs, err := s.store.ListFlags(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the flags of case %s: %w", c.ID, err)
	}
	return fs, s.record(ctx, p, role, ActionList, "", audit.OutcomeSuccess)
}

// Resolve resolves flag flagID of case caseID at version, with a reason. It returns Raise's case
// access errors; a NotFound *apperr.Error (flag_not_found) for a flag not of that case; an Invalid
// one for a missing or too long reason; a Conflict (version_conflict, wrapping a *StaleError) when
// version is not current; a Conflict (flag_resolved) for a flag already resolved; or the store's or
// recorder's error.
func (s *Service) Resolve(ctx context.Context, p identity.Principal, caseID, flagID, reason string, version int64) (Flag, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionResolve)
	if err != nil {
		return Flag{}, err
	}
	var fe apperr.FieldErrors
	reason = checkReason(&fe, "reason", reason)
	if err := fe.Err(); err != nil {
		return Flag{}, err
	}
	cur, err := s.flagOf(ctx, c.ID, flagID)
	if err != nil {
		return Flag{}, s.refused(ctx, p, role, ActionResolve, flagID, audit.OutcomeDenied, err)
	}
	if cur.Version != version {
		return Flag{}, s.refused(ctx, p, role, ActionResolve, flagID, audit.OutcomeFailure, errFlagStale(cur))
	}
	if !cur.Active() {
		return Flag{}, s.refused(ctx, p, role, ActionResolve, flagID, audit.OutcomeFailure, errFlagResolved(flagID))
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	next := cur
	next.ResolvedBy, next.ResolvedAt, next.ResolutionReason, next.Version = p.UserID, &now, reason, cur.Version+1
	switch err := s.store.ResolveFlag(ctx, next); {
	case errors.Is(err, ErrStale):
		if cur, err = s.store.Flag(ctx, flagID); err != nil {
			return Flag{}, fmt.Errorf("reading flag %s: %w", flagID, err)
		}
		return Flag{}, s.refused(ctx, p, role, ActionResolve, flagID, audit.OutcomeFailure, errFlagStale(cur))
	case err != nil:
		return Flag{}, fmt.Errorf("resolving flag %s: %w", flagID, err)
	}
	return next, s.record(ctx, p, role, ActionResolve, flagID, audit.OutcomeSuccess)
}

// flagOf reads flag id of case caseID: a NotFound *apperr.Error for none or another case's.
func (s *Service) flagOf(ctx context.Context, caseID, id string) (Flag, error) {
	if !apperr.ValidUUID(id) {
		return Flag{}, errFlagNotFound(id)
	}
	f, err := s.store.Flag(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && f.CaseID != caseID {
		return Flag{}, errFlagNotFound(id)
	}
	if err != nil {
		return Flag{}, fmt.Errorf("reading flag %s: %w", id, err)
	}
	return f, nil
}

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, id string, outcome audit.Outcome) error {
	return audit.Record(ctx, s.events, p.AuditEvent(role, action, resourceFlag, id, outcome))
}

// refused records action with outcome and returns cause (or the recorder's error).
func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, action, id string, outcome audit.Outcome, cause error) error {
	return audit.Refusal(ctx, s.events, p.AuditEvent(role, action, resourceFlag, id, outcome), cause)
}

// checkReason records "required" for a blank reason and "max_length" beyond MaxReasonLen, and
// returns it trimmed.
func checkReason(fe *apperr.FieldErrors, field, reason string) string {
	reason = strings.TrimSpace(reason)
	if fe.Required(field, reason) && utf8.RuneCountInString(reason) > MaxReasonLen {
		fe.MaxLength(field, reason, MaxReasonLen)
	}
	return reason
}
