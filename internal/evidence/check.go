package evidence

import (
	"context"
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Checks without writing, for device sync's all-or-nothing groups: each reports whether the write
// would be accepted, as far as that can be known before the writes of the group before it.

// CheckCreateItem reports whether CreateItem(ctx, p, caseID, ni) would be accepted. When
// caseChecked, case caseID is one the caller is about to create (checked already), so only the
// item's own values are checked. It returns CreateItem's errors.
func (s *Service) CheckCreateItem(ctx context.Context, p identity.Principal, caseID string, caseChecked bool, ni NewItem) error {
	orgID := p.OrgID
	if !caseChecked {
		c, _, err := s.cases.CaseAccess(ctx, p, caseID, ActionItemCreate)
		if err != nil {
			return err
		}
		if c.Status == casework.StatusClosed {
			return errCaseClosed(caseID)
		}
		orgID = c.OrgID
	}
	now := s.clock()
	var fe fieldErrors
	it := fe.item("", ni, p.UserID, now)
	if err := fe.Err(); err != nil {
		return err
	}
	it.OrgID, it.CaseID, it.CreatedBy = orgID, caseID, p.UserID
	cur, err := s.store.Item(ctx, it.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading evidence item %s: %w", it.ID, err)
	case !sameItem(cur, it):
		return errItemIDConflict(it.ID)
	}
	return nil // a retry: CreateItem changes nothing
}

// CheckAppend reports whether Append(ctx, p, caseID, itemID, ne) would be accepted, as far as the
// event's values and the caller's access go (the rules that depend on the chain are checked in
// chain order when it is appended). When itemChecked, item itemID is one the caller is about to
// create, so only the event's own values are checked. It returns Append's errors.
func (s *Service) CheckAppend(ctx context.Context, p identity.Principal, caseID, itemID string, itemChecked bool, ne NewEvent) error {
	var (
		it   Item
		role identity.Role
		err  error
	)
	if itemChecked {
		it = Item{ID: itemID, OrgID: p.OrgID, CaseID: caseID}
		if ne.Verified != nil { // the item's hashes are not known yet
			it.Hashes = []Hash{{Algorithm: ne.Verified.Algorithm}}
		}
		if role, err = s.roleFor(p); err != nil {
			return err
		}
	} else if it, role, err = s.fixedItemFor(ctx, p, caseID, itemID, ActionEventAppend); err != nil {
		return err
	}
	var fe fieldErrors
	fe.event(ne, it, p.UserID, s.clock())
	if ne.DerivedItem != nil {
		fe.derivedItem(it, *ne.DerivedItem, p.UserID, s.clock())
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if ne.Type == EventLegalHold && ne.Hold != nil && !*ne.Hold && role != identity.RoleSupervisor {
		return identity.ErrForbidden
	}
	return nil
}

// roleFor returns the role p acts in on case data (supervisor before caseworker), or
// identity.ErrForbidden.
func (s *Service) roleFor(p identity.Principal) (identity.Role, error) {
	switch {
	case p.HasRole(identity.RoleSupervisor):
		return identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleCaseworker):
		return identity.RoleCaseworker, nil
	}
	return "", identity.ErrForbidden
}
