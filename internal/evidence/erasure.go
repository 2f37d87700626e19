package evidence

import (
	"context"
	"fmt"
)

// HeldItems returns the ids of the evidence items of case caseID (of organisation orgID) under legal
// hold, for the retention policy (package erasure, which checks the caller's organisation itself and
// records its own audit entries). It returns the store's error.
func (s *Service) HeldItems(ctx context.Context, orgID, caseID string) ([]string, error) {
	items, err := s.store.ListItems(ctx, caseID, ItemKey{}, 0)
	if err != nil {
		return nil, fmt.Errorf("listing evidence of case %s: %w", caseID, err)
	}
	held := []string{}
	for _, it := range items {
		if it.OrgID == orgID && it.State.LegalHold {
			held = append(held, it.ID)
		}
	}
	return held, nil
}

// CaseChains verifies the custody chain of every evidence item of case caseID, for the erasure of the
// case (package erasure), which checks the caller's organisation itself and records its own audit
// entries. Items of another organisation than orgID are skipped. It returns the reports with the ids
// of the items under legal hold, or the store's error.
func (s *Service) CaseChains(ctx context.Context, orgID, caseID string) (CaseReport, []string, error) {
	items, err := s.store.ListItems(ctx, caseID, ItemKey{}, 0)
	if err != nil {
		return CaseReport{}, nil, fmt.Errorf("listing evidence of case %s: %w", caseID, err)
	}
	out := CaseReport{CaseID: caseID, OK: true, Items: []Report{}}
	held := []string{}
	for _, it := range items {
		if it.OrgID != orgID {
			continue
		}
		if it.State.LegalHold {
			held = append(held, it.ID)
		}
		rep, err := s.verify(ctx, it, "", nil)
		if err != nil {
			return CaseReport{}, nil, err
		}
		out.OK = out.OK && rep.OK
		out.Items = append(out.Items, rep)
	}
	return out, held, nil
}
