package casework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Checks without writes, for callers that must validate several operations before applying any
// (the all-or-nothing groups of device sync).

// CheckCreate reports whether Create(ctx, p, nc) would be accepted as far as it can tell without
// writing: p's role, the values, the assignees, and that the id is free or holds the same case. It
// returns Create's errors (refusals are recorded as Create records them).
func (s *Service) CheckCreate(ctx context.Context, p identity.Principal, nc NewCase) error {
	c, _, err := s.prepareCase(ctx, p, nc)
	if err != nil {
		return err
	}
	cur, err := s.store.Case(ctx, c.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading case %s: %w", c.ID, err)
	case cur.OrgID != c.OrgID || cur.ReferenceNumber != c.ReferenceNumber || cur.Child != c.Child || !slices.Equal(cur.CaseTypes, c.CaseTypes):
		return errCaseIDConflict(c.ID)
	}
	return nil
}

// CheckStartRun reports whether StartRun(ctx, p, caseID, runID, protocolID) would be accepted.
// When caseChecked, case caseID is one the caller is about to create (checked with CheckCreate), so
// only the ids and the protocol are checked. It returns StartRun's errors.
func (s *Service) CheckStartRun(ctx context.Context, p identity.Principal, caseID string, caseChecked bool, runID, protocolID string) error {
	if !caseChecked {
		c, _, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunStart)
		if err != nil {
			return err
		}
		if c.Status == StatusClosed {
			return errCaseClosed(c.ID)
		}
	}
	var fe fieldErrors
	fe.UUID(fieldID, runID)
	fe.token("protocol_id", protocolID, MaxProtocolIDLen)
	if err := fe.Err(); err != nil {
		return err
	}
	if _, err := s.protocols.Latest(protocolID); err != nil {
		return fmt.Errorf("finding protocol %s: %w", protocolID, err)
	}
	return nil
}

// CheckStepRecord reports whether RecordStep(ctx, p, caseID, runID, nr) would be accepted. When
// runChecked, run runID is one the caller is about to start, so only the record's values are
// checked (whether the step applies is known only once the run exists). It returns RecordStep's
// errors.
func (s *Service) CheckStepRecord(ctx context.Context, p identity.Principal, caseID, runID string, runChecked bool, nr NewStepRecord) error {
	now := s.clock()
	var fe fieldErrors
	fe.token("client_id", nr.ClientID, MaxClientIDLen)
	fe.token("step_id", nr.StepID, MaxStepIDLen)
	if apperr.OneOf(&fe.FieldErrors, "status", nr.Status, StepStatuses) && nr.Status == StepSkipped {
		fe.reason("reason", nr.Reason)
	} else {
		fe.text("reason", strings.TrimSpace(nr.Reason), MaxReasonLen)
	}
	fe.text("note", strings.TrimSpace(nr.Note), MaxNotesLen)
	switch {
	case nr.RecordedAt.IsZero():
		fe.Add("recorded_at", "required", "field.required", nil)
	case nr.RecordedAt.UTC().Truncate(time.Millisecond).After(now.Add(MaxClockSkew)):
		fe.Add("recorded_at", "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if runChecked {
		return nil
	}
	c, _, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunRecord)
	if err != nil {
		return err
	}
	r, err := s.runFor(ctx, p, c, runID, ActionRunRecord)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(r.Records, func(x StepRecord) bool { return x.ClientID == nr.ClientID }) {
		return nil // a retry: RecordStep changes nothing
	}
	v, err := s.version(ctx, r)
	if err != nil {
		return err
	}
	return checkRecordable(c, r, v, nr.StepID)
}
