package evidence

import (
	"context"
	"errors"
	"sync"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// errCopiedInBatch is returned by AppendAll for a "copied" event (it creates a derived item first:
// append it with Append).
var errCopiedInBatch = errors.New("evidence: a copied event cannot be appended with AppendAll")

// AppendAll appends events to the item's custody chain in the order given, as that many Append calls
// one after the other would (the same checks, chain, receipts and one audit entry per event), but
// queued together so that one group commit stores them: one ordered insert, one change-sequence
// increment and one signed head update. It is for writers that hold a whole stretch of a chain at
// once (the seed command, imports). Every event is checked before any is queued; a "copied" event is
// refused (errCopiedInBatch: use Append). It returns Append's errors, for the first event that
// fails; the events before it are then appended.
func (s *Service) AppendAll(ctx context.Context, p identity.Principal, caseID, itemID string, nes []NewEvent) ([]Appended, error) {
	it, role, err := s.fixedItemFor(ctx, p, caseID, itemID, ActionEventAppend)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	events := make([]Event, len(nes))
	for i, ne := range nes {
		if ne.DerivedItem != nil || ne.Type == EventCopied {
			return nil, errCopiedInBatch
		}
		var fe fieldErrors
		e := fe.event(ne, it, p.UserID, now)
		if err := s.checkParties(ctx, &fe, it.OrgID, p.UserID, namedParty{"performed_by", e.PerformedBy}, namedParty{"from", e.From},
			namedParty{"to", e.To}); err != nil {
			return nil, err
		}
		if err := fe.Err(); err != nil {
			return nil, err
		}
		if e.Type == EventLegalHold && !*e.Hold && role != identity.RoleSupervisor {
			return nil, s.failed(ctx, p, role, ActionEventAppend, it.ID, identity.ErrForbidden)
		}
		events[i] = e
	}
	rs, err := s.queueAll(ctx, it, events)
	if err != nil {
		return nil, err
	}
	out := make([]Appended, 0, len(rs))
	for _, r := range rs {
		if r.err != nil {
			if k := apperr.KindOf(r.err); k == apperr.Conflict || k == apperr.NotFound || k == apperr.Invalid {
				return out, s.failed(ctx, p, role, ActionEventAppend, it.ID, r.err)
			}
			return out, r.err
		}
		if r.dup {
			a, err := s.appendedBefore(ctx, p, role, it, r.res, r.e)
			if err != nil {
				return out, err
			}
			out = append(out, a)
			continue
		}
		out = append(out, Appended{Event: r.res, Item: r.item, Receipt: r.receipt, New: true})
	}
	// One audit entry per new event, recorded together so that the audit log's group commit takes
	// them at once.
	var wg sync.WaitGroup
	errs := make([]error, len(out))
	for i, a := range out {
		if !a.New {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.record(ctx, p, role, ActionEventAppend, resourceItem, it.ID, audit.OutcomeSuccess)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
