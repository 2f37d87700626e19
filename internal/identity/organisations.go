package identity

import (
	"context"
	"errors"
	"fmt"
)

// OrganisationPage is one page of the organisation directory; Next is the id to continue after, empty
// on the last page.
type OrganisationPage struct {
	Organisations []Organisation
	Next          string
}

// ListOrganisations returns up to limit organisations (0: DefaultPageSize, at most MaxPageSize) of the
// deployment with ids after afterID, by id: the directory every signed-in user may read (a referral
// names its receiver from it). It returns ErrForbidden when p is not signed in to an organisation, or
// the store's error.
func (s *Service) ListOrganisations(ctx context.Context, p Principal, afterID string, limit int) (OrganisationPage, error) {
	if p.OrgID == "" {
		return OrganisationPage{}, ErrForbidden
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	os, err := s.store.ListOrganisations(ctx, afterID, limit+1)
	if err != nil {
		return OrganisationPage{}, fmt.Errorf("listing organisations: %w", err)
	}
	page := OrganisationPage{Organisations: make([]Organisation, 0, min(len(os), limit))}
	for i, o := range os {
		if i == limit {
			page.Next = page.Organisations[limit-1].ID
			break
		}
		page.Organisations = append(page.Organisations, o)
	}
	return page, nil
}

// EnsureOrganisation records organisation id with name in the directory unless it is there already
// (operators' `users create -org` calls it, so that every organisation with users is listed). It
// returns the store's error.
func (s *Service) EnsureOrganisation(ctx context.Context, id, name string) error {
	if _, err := s.store.Organisation(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reading organisation: %w", err)
	}
	err := s.store.CreateOrganisation(ctx, Organisation{ID: id, Name: name, CreatedAt: s.clock()})
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("recording organisation: %w", err)
	}
	return nil
}
