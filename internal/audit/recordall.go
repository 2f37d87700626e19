package audit

import (
	"context"
	"fmt"
	"slices"
)

// RecordAll appends entries (all of one organisation) to its log in the order given and returns them
// as stored, as that many Record calls one after the other would, but queued together so that the
// group commits take them MaxBatch at a time. It is for writers that hold many entries at once (the
// seed command). It returns Record's errors: ErrInvalidEntry (nothing is queued then) or an error of
// the organisations' mixed up, the context's error, or the first entry's error from the store (the
// entries before it are stored).
func (s *Service) RecordAll(ctx context.Context, entries []Entry) ([]Entry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	rs := make([]*request, len(entries))
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return nil, err
		}
		if e.OrgID != entries[0].OrgID {
			return nil, fmt.Errorf("%w: RecordAll takes the entries of one organisation", ErrInvalidEntry)
		}
		rs[i] = &request{e: e.detached(), wake: make(chan struct{})}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting to record audit entries: %w", err)
	}
	s.mu.Lock()
	q := s.orgs[entries[0].OrgID]
	if q == nil {
		q = &orgLog{org: entries[0].OrgID}
		s.orgs[entries[0].OrgID] = q
	}
	q.pending = append(q.pending, rs...)
	if !q.leading {
		s.startLeader(context.WithoutCancel(ctx), q)
	}
	s.mu.Unlock()
	out := make([]Entry, len(rs))
	for i, r := range rs {
		select {
		case <-r.wake:
		case <-ctx.Done():
			s.mu.Lock()
			for _, r := range rs {
				if i := slices.Index(q.pending, r); i >= 0 && !r.done { // not taken yet: it will not be written
					q.pending = slices.Delete(q.pending, i, i+1)
				}
			}
			s.mu.Unlock()
			return nil, fmt.Errorf("waiting to record audit entries: %w", ctx.Err())
		}
		if r.err != nil {
			return nil, r.err
		}
		out[i] = r.res
	}
	return out, nil
}
