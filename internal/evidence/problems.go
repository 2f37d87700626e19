package evidence

import (
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// ActionProblemList is the audit action of a supervisor's list of items whose checks failed.
const ActionProblemList = "evidence.problem_list"

// ProblemItems returns the evidence items of p's organisation whose custody chain recorded a failed
// hash verification (State.IntegrityFailed) or a broken seal (State.SealIntact false), oldest first.
// It returns identity.ErrForbidden unless p is a supervisor, or the store's or recorder's error.
func (s *Service) ProblemItems(ctx context.Context, p identity.Principal) ([]Item, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		if err := s.record(ctx, p, "", ActionProblemList, resourceItem, "", "denied"); err != nil {
			return nil, err
		}
		return nil, identity.ErrForbidden
	}
	items, err := s.store.ListOrgProblemItems(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("listing evidence with failed checks: %w", err)
	}
	out := items[:0]
	for _, it := range items {
		if it.OrgID == p.OrgID && (it.State.IntegrityFailed || it.State.SealIntact != nil && !*it.State.SealIntact) {
			out = append(out, it)
		}
	}
	if err := s.record(ctx, p, identity.RoleSupervisor, ActionProblemList, resourceItem, "", "success"); err != nil {
		return nil, err
	}
	return out, nil
}
