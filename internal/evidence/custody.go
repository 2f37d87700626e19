package evidence

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Custody is one item of a case with the start of its custody chain.
type Custody struct {
	Item       Item
	Events     []Event // oldest first
	MoreEvents bool    // the chain holds more events than were read
}

// CaseCustody returns the first limit items of a case (as ListItems's first page; below 1:
// DefaultItemPage, at most MaxItemPage), each with up to eventLimit of its events (below 1: 50, at
// most 200), and whether the case holds more items: what ListItems and Events give, with one access
// check of the case instead of one per item. It records what those record (evidence.list on the
// case, evidence.events_read per item). It returns the errors of ListItems, or the store's or
// recorder's error.
func (s *Service) CaseCustody(ctx context.Context, p identity.Principal, caseID string, limit, eventLimit int) ([]Custody, bool, error) {
	if limit < 1 {
		limit = DefaultItemPage
	}
	limit = min(limit, MaxItemPage)
	if eventLimit <= 0 {
		eventLimit = defaultEventsLimit
	}
	eventLimit = min(eventLimit, maxEventsLimit)
	_, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionItemList)
	if err != nil {
		return nil, false, err
	}
	items, err := s.store.ListItems(ctx, caseID, ItemKey{}, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("listing evidence of case %s: %w", caseID, err)
	}
	more := len(items) > limit
	items = slices.DeleteFunc(items[:min(len(items), limit)], func(it Item) bool { return it.OrgID != p.OrgID })
	out := make([]Custody, len(items))
	errs := make([]error, len(items)+1)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = s.record(ctx, p, role, ActionItemList, resourceCase, caseID, audit.OutcomeSuccess) })
	for i, it := range items {
		wg.Go(func() { out[i], errs[i+1] = s.custody(ctx, p, role, it, eventLimit) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, false, err
		}
	}
	return out, more, nil
}

// custody reads the first events of it and records the read.
func (s *Service) custody(ctx context.Context, p identity.Principal, role identity.Role, it Item, limit int) (Custody, error) {
	events, err := s.store.Events(ctx, it.ID, 0, limit+1)
	if err != nil {
		return Custody{}, fmt.Errorf("reading the custody chain of %s: %w", it.ID, err)
	}
	c := Custody{Item: it, Events: events, MoreEvents: len(events) > limit}
	if c.MoreEvents {
		c.Events = events[:limit]
	}
	if err := s.record(ctx, p, role, ActionEventsRead, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Custody{}, err
	}
	return c, nil
}
