package interview

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// sharedSessionSpace names the copies ShareApproved makes: the copy of session s shared by referral
// r is uuid.NewSHA1(sharedSessionSpace, r+"/"+s), so a retried acceptance finds the copies the first
// try made instead of making second ones.
var sharedSessionSpace = uuid.MustParse("06fffc3e-70d0-4726-bf60-3cbb614a0bd4")

// SharedSessionID returns the id of the copy of session sessionID that referral referralID shares.
func SharedSessionID(referralID, sessionID string) string {
	return uuid.NewSHA1(sharedSessionSpace, []byte(referralID+"/"+sessionID)).String()
}

// ShareApproved copies the approved sessions of case fromCaseID, with their logs, into case to (of
// another organisation) as shared by referral referralID, and returns how many it copied. The one
// forensic interview is then read where the child is referred instead of being repeated there.
//
// A copy keeps the plan, the log, the quality measures and flags, the approval and the addenda; it
// leaves out the sending organisation's reviews (their internal supervision), is encrypted under the
// receiving case's key like every session of it, records where it came from (SharedFrom) and is
// read-only: nobody of the receiving organisation is its interviewer, it is approved already, and
// AddAddendum refuses it. Sessions not approved yet are not shared (they may still change).
//
// The caller (the referral service, on the acceptance of p, a supervisor of to's organisation) has
// checked that a current consent or legal basis covers sharing the interviews; ShareApproved checks
// no access itself. Each copy is recorded as interview.receive in p's organisation's audit log. A
// retry completes what an earlier try left half done and duplicates nothing. It returns the store's
// or recorder's error.
func (s *Service) ShareApproved(ctx context.Context, p identity.Principal, fromCaseID string, to casework.Case, referralID string) (int, error) {
	sessions, err := s.store.CaseSessions(ctx, fromCaseID)
	if err != nil {
		return 0, fmt.Errorf("reading the interviews of case %s: %w", fromCaseID, err)
	}
	n := 0
	for _, sess := range sessions {
		if sess.Status != StatusApproved || sess.SharedFrom != nil {
			continue // not final yet; or itself a copy, which its own organisation shares
		}
		if err := s.shareOne(ctx, sess, to, referralID); err != nil {
			return n, err
		}
		copyID := SharedSessionID(referralID, sess.ID)
		if err := s.record(ctx, p.AuditEvent(identity.RoleSupervisor, ActionReceive, ResourceInterview, copyID, audit.OutcomeSuccess)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// shareOne copies session sess and its log into case to.
func (s *Service) shareOne(ctx context.Context, sess Session, to casework.Case, referralID string) error {
	log, err := s.store.Log(ctx, sess.ID)
	if err != nil {
		return fmt.Errorf("reading the log of interview %s: %w", sess.ID, err)
	}
	now := s.clock()
	cp := sess.clone()
	cp.ID, cp.OrgID, cp.CaseID = SharedSessionID(referralID, sess.ID), to.OrgID, to.ID
	cp.Reviews = nil
	cp.SharedFrom = &SharedFrom{ReferralID: referralID, OrgID: sess.OrgID, SessionID: sess.ID}
	cp.UpdatedAt, cp.Version = now, 1
	if err := s.store.CreateSession(ctx, cp); errors.Is(err, ErrExists) {
		cur, err := s.store.Session(ctx, cp.ID)
		if err != nil {
			return fmt.Errorf("reading interview %s: %w", cp.ID, err)
		}
		if cur.SharedFrom == nil || *cur.SharedFrom != *cp.SharedFrom {
			return errSessionIDConflict(cp.ID)
		}
	} else if err != nil {
		return fmt.Errorf("copying interview %s: %w", sess.ID, err)
	}
	if _, err := s.store.AppendLog(ctx, cp.ID, log.Entries); err != nil && !errors.Is(err, ErrLogClosed) {
		return fmt.Errorf("copying the log of interview %s: %w", sess.ID, err)
	}
	closed := log.ClosedAt
	if closed.IsZero() {
		closed = now
	}
	if err := s.store.SetLogOpen(ctx, cp.ID, false, closed); err != nil {
		return fmt.Errorf("closing the log of interview %s: %w", cp.ID, err)
	}
	return nil
}
