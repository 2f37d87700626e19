package casework

import (
	"context"
	"fmt"
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// RunViews returns the views of every run of a case (steps that apply to the case as it is now,
// their latest records, progress and overdue steps), by start time: ListRuns and GetRun in one read,
// recorded as ListRuns is (run.list on the case). It returns identity.ErrForbidden, or an
// *apperr.Error NotFound (case_not_found), as Get does; or the store's, protocol source's or
// recorder's error.
func (s *Service) RunViews(ctx context.Context, p identity.Principal, caseID string) ([]RunView, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunList)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ListRuns(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing runs of case %s: %w", c.ID, err)
	}
	rs = slices.DeleteFunc(rs, func(r Run) bool { return r.OrgID != c.OrgID })
	now := s.clock()
	out := make([]RunView, 0, len(rs))
	for _, r := range rs {
		v, err := s.version(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, BuildView(c, r, v, now))
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRunList, ResourceCase, c.ID, audit.OutcomeSuccess)); err != nil {
		return nil, err
	}
	return out, nil
}
