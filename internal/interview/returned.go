package interview

import (
	"github.com/childsafe-protocols/caseguide/internal/audit"

	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// ActionReturnedList is the audit action of a supervisor's list of returned sessions.
const ActionReturnedList = "interview.returned_list"

// Returned returns the sessions of p's organisation that a supervisor returned and that wait for
// their interviewer (status returned), the longest waiting first (by the time of the last review).
// It returns identity.ErrForbidden unless p is a supervisor, or the store's or recorder's error.
func (s *Service) Returned(ctx context.Context, p identity.Principal) ([]Session, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return nil, s.denied(ctx, p, ActionReturnedList, "", identity.ErrForbidden)
	}
	list, err := s.store.OrgSessions(ctx, OrgFilter{OrgID: p.OrgID, Statuses: []Status{StatusReturned}})
	if err != nil {
		return nil, fmt.Errorf("listing returned sessions: %w", err)
	}
	list = slices.DeleteFunc(list, func(x Session) bool { return x.OrgID != p.OrgID || x.Status != StatusReturned })
	slices.SortFunc(list, func(a, b Session) int {
		return cmp.Or(ReturnedAt(a).Compare(ReturnedAt(b)), strings.Compare(a.ID, b.ID))
	})
	if err := s.record(ctx, p.AuditEvent(identity.RoleSupervisor, ActionReturnedList, ResourceInterview, "", audit.OutcomeSuccess)); err != nil {
		return nil, err
	}
	return list, nil
}

// ReturnedAt is when sess was last returned (its last review), or its last update when it holds no
// review.
func ReturnedAt(sess Session) time.Time {
	if n := len(sess.Reviews); n > 0 {
		return sess.Reviews[n-1].At
	}
	return sess.UpdatedAt
}
