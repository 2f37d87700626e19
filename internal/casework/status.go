package casework

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Closing and reopening a case, with a reason, at the version the caller saw.

// Close closes an open case whose current version is version, with a reason (required, at most 500
// characters), and returns it at its new version. Errors as for Update; closing a closed case is an
// *apperr.Error Invalid (case_closed).
func (s *Service) Close(ctx context.Context, p identity.Principal, id, reason string, version int64) (Case, error) {
	return s.setStatus(ctx, p, id, reason, version, StatusClosed)
}

// Reopen reopens a closed case whose current version is version, with a reason (required, at most
// 500 characters), and returns it at its new version. Errors as for Update; reopening an open case is
// an *apperr.Error Invalid (case_not_closed).
func (s *Service) Reopen(ctx context.Context, p identity.Principal, id, reason string, version int64) (Case, error) {
	return s.setStatus(ctx, p, id, reason, version, StatusOpen)
}

func (s *Service) setStatus(ctx context.Context, p identity.Principal, id, reason string, version int64, to Status) (Case, error) {
	action := ActionCaseClose
	if to == StatusOpen {
		action = ActionCaseReopen
	}
	var fe fieldErrors
	reason = fe.reason("reason", reason)
	cur, role, err := s.caseFor(ctx, p, id, accessCase, action)
	if err != nil {
		return Case{}, err
	}
	if err := fe.Err(); err != nil {
		return Case{}, err
	}
	if cur.Version != version {
		return Case{}, s.stale(ctx, p, role, action, cur)
	}
	switch {
	case to == StatusClosed && cur.Status == StatusClosed:
		return Case{}, errCaseClosed(id)
	case to == StatusOpen && cur.Status != StatusClosed:
		return Case{}, errCaseNotClosed(id)
	case to == StatusOpen && cur.TransferredBy != "":
		return Case{}, errCaseTransferred(id)
	}
	now := s.clock()
	next := cur.clone()
	next.Status, next.StatusReason, next.ClosedAt = to, reason, nil
	if to == StatusClosed {
		next.ClosedAt = &now
	}
	return s.save(ctx, p, role, action, next, now)
}
