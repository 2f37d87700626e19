package casework

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// ActionCaseTransfer is the audit action of closing a case transferred to another organisation.
const ActionCaseTransfer = "case.transfer"

func errCaseTransferred(id string) error {
	return apperr.New(apperr.Invalid, "case_transferred", "ErrCaseTransferred", map[string]any{"ID": id})
}

// CaseByID reads a case without a caller: for the referral service, which has already decided that
// the caller may act on a referral of it (the receiver accepting reads the sender's case to copy the
// shared parts). It returns a NotFound *apperr.Error (case_not_found) or the store's error.
func (s *Service) CaseByID(ctx context.Context, id string) (Case, error) {
	if auditID(id) == "" {
		return Case{}, errCaseNotFound(id)
	}
	c, err := s.store.Case(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Case{}, errCaseNotFound(id)
	}
	if err != nil {
		return Case{}, fmt.Errorf("reading case %s: %w", id, err)
	}
	return c.clone(), nil
}

// CloseTransferred closes case caseID for good because referral referralID transferred it to
// another organisation, which accepted it at time at: the case keeps its content as a read-only
// record (updates are refused on closed cases, and reopening one transferred is refused). Repeating
// it changes nothing. The closure is recorded in the case's organisation's log as done by the system
// (the accepting user belongs to the other organisation). It returns a NotFound *apperr.Error for an
// unknown case, or the store's or recorder's error.
func (s *Service) CloseTransferred(ctx context.Context, caseID, referralID string, at time.Time) error {
	for {
		cur, err := s.CaseByID(ctx, caseID)
		if err != nil {
			return err
		}
		if cur.TransferredBy != "" {
			return nil
		}
		next := cur.clone()
		next.Status, next.TransferredBy, next.StatusReason = StatusClosed, referralID, "transferred"
		if next.ClosedAt == nil {
			t := at.UTC().Truncate(time.Millisecond)
			next.ClosedAt = &t
		}
		next.Version++
		next.UpdatedAt = s.clock()
		err = s.store.UpdateCase(ctx, next)
		if errors.Is(err, ErrStale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("closing transferred case %s: %w", caseID, err)
		}
		return s.record(ctx, audit.Event{OrgID: cur.OrgID, ActorRole: "system", Action: ActionCaseTransfer,
			ResourceType: ResourceCase, ResourceID: caseID, Outcome: audit.OutcomeSuccess})
	}
}
