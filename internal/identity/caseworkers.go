package identity

import (
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// ActionCaseworkersList is recorded when a supervisor reads their organisation's caseworkers (to
// assign one to a case).
const ActionCaseworkersList = "user.caseworkers_list"

// Caseworker is what a supervisor may know of a caseworker of their organisation: who to assign.
type Caseworker struct {
	ID          string
	DisplayName string
}

// CaseworkerPage is one page of caseworkers. Next is the cursor of the following page ("" on the
// last one).
type CaseworkerPage struct {
	Caseworkers []Caseworker
	Next        string
}

// caseworkerScan is how many users one store read takes while looking for caseworkers.
const caseworkerScan = MaxPageSize

// Caseworkers returns up to limit (0: DefaultPageSize, at most MaxPageSize) enabled users with the
// caseworker role of the supervisor's organisation with ids after afterID, by id: their ids and
// display names only (no username, roles or dates). The read is audited (ActionCaseworkersList). It
// returns ErrForbidden when p is not a supervisor, or the store's or recorder's error.
func (s *Service) Caseworkers(ctx context.Context, p Principal, afterID string, limit int) (CaseworkerPage, error) {
	if !p.HasRole(RoleSupervisor) {
		return CaseworkerPage{}, ErrForbidden
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	page := CaseworkerPage{Caseworkers: []Caseworker{}}
scan:
	for after := afterID; ; {
		us, err := s.store.ListUsers(ctx, p.OrgID, after, caseworkerScan)
		if err != nil {
			return CaseworkerPage{}, fmt.Errorf("listing caseworkers: %w", err)
		}
		for _, u := range us {
			if u.Disabled || !u.HasRole(RoleCaseworker) {
				continue
			}
			if len(page.Caseworkers) == limit {
				page.Next = page.Caseworkers[limit-1].ID
				break scan
			}
			page.Caseworkers = append(page.Caseworkers, Caseworker{ID: u.ID, DisplayName: u.DisplayName})
		}
		if len(us) < caseworkerScan {
			break
		}
		after = us[len(us)-1].ID
	}
	if err := s.record(ctx, p.AuditEvent(RoleSupervisor, ActionCaseworkersList, ResourceUser, "", audit.OutcomeSuccess)); err != nil {
		return CaseworkerPage{}, err
	}
	return page, nil
}
