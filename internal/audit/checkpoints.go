package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// CheckpointEntries is the most entries a leader writes before it checkpoints its organisation's log
// (see WithCheckpoints).
const CheckpointEntries = 256

// DefaultCheckpointInterval is the checkpoint interval of WithCheckpoints when given 0.
const DefaultCheckpointInterval = 10 * time.Second

// Checkpointer makes and finds signed checkpoints of chains (*checkpoint.Keeper satisfies it).
type Checkpointer interface {
	// Make signs and stores a checkpoint of log at seq, or returns the newest when it is at or past
	// seq; an error when the store fails.
	Make(ctx context.Context, log string, seq int64, hash string) (checkpoint.Checkpoint, error)
	// Trusted returns the newest checkpoint of log whose signature verifies; an error when the store fails.
	Trusted(ctx context.Context, log string) (checkpoint.Trust, error)
	// Newest returns the newest stored checkpoint of log, unchecked; an error when the store fails.
	Newest(ctx context.Context, log string) (checkpoint.Checkpoint, bool, error)
	// Get returns checkpoint n of log, unchecked; an error when the store fails.
	Get(ctx context.Context, log string, n int64) (checkpoint.Checkpoint, bool, error)
	// List returns up to limit checkpoints of log numbered below before (0: all), newest first.
	List(ctx context.Context, log string, before int64, limit int) ([]checkpoint.Checkpoint, error)
	// Verify checks a checkpoint's signature: an error wrapping checkpoint.ErrInvalid.
	Verify(cp checkpoint.Checkpoint) error
}

// WithCheckpoints makes s checkpoint every log it writes with cps and returns s; call it before the
// first Record. The leader of an organisation (see Record) checkpoints the newest entry it wrote after
// CheckpointEntries entries since the last checkpoint, and when its queue runs empty and the last
// checkpoint is at least interval old (0: DefaultCheckpointInterval); entries left uncovered when the
// queue runs empty sooner are checkpointed once interval has passed, by a timer. So in a running
// process a checkpoint lags the log by at most CheckpointEntries entries (plus one group commit) or
// interval, whichever comes first; Flush checkpoints what is left. Verify then starts from the newest
// checkpoint.
func (s *Service) WithCheckpoints(cps Checkpointer, interval time.Duration) *Service {
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	s.cps, s.cpInterval = cps, interval
	return s
}

// Checkpoints returns the checkpointer (nil when there is none).
func (s *Service) Checkpoints() Checkpointer { return s.cps }

// uncovered reports whether q's leader wrote entries after the newest checkpoint it knows. Only the
// leader, or the caller holding s.mu while none runs, calls it.
func (s *Service) uncovered(q *orgLog) bool {
	return s.cps != nil && q.headKnown && q.hasHead && q.head.Seq > q.cpSeq
}

// checkpoint makes a checkpoint of the newest entry q's leader knows when one is due (see
// WithCheckpoints): after CheckpointEntries entries, or when idle and interval has passed, or when
// forced. When idle with entries left uncovered it schedules a timer that starts a leader (which finds
// no entry and comes back here) once interval has passed. Only the leader calls it. A failed
// checkpoint is no caller's error (their entries are stored): the next one covers them.
func (s *Service) checkpoint(ctx context.Context, q *orgLog, idle, force bool) {
	if !s.uncovered(q) {
		return
	}
	now := s.now()
	waited := now.Sub(q.cpAt)
	if force || q.head.Seq-q.cpSeq >= CheckpointEntries || (idle && waited >= s.cpInterval) {
		wctx, cancel := context.WithTimeout(ctx, batchWriteTimeout)
		cp, err := s.cps.Make(wctx, checkpoint.AuditLog(q.org), q.head.Seq, q.head.Hash)
		cancel()
		if err == nil {
			q.cpSeq, q.cpAt = cp.Seq, now
			return
		}
		waited = 0 // try again after a full interval
	}
	if !idle {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.timer == nil && !s.flushing {
		q.timer = time.AfterFunc(max(s.cpInterval-waited, time.Millisecond), func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			q.timer = nil
			if !q.leading {
				s.startLeader(context.Background(), q)
			}
		})
	}
}

// Checkpoint verifies the organisation's log (Verify) and, when it is intact, checkpoints its newest
// entry now and returns that checkpoint with the report: only what was verified is signed. When the
// log is not intact it returns the report and false. It returns the store's error.
func (s *Service) Checkpoint(ctx context.Context, orgID string) (checkpoint.Checkpoint, Report, bool, error) {
	if s.cps == nil {
		return checkpoint.Checkpoint{}, Report{}, false, fmt.Errorf("checkpointing the audit log of %s: no checkpointer", orgID)
	}
	r, err := s.Verify(ctx, orgID)
	if err != nil || !r.OK || r.Entries == 0 {
		return checkpoint.Checkpoint{}, r, false, err
	}
	cp, err := s.cps.Make(ctx, checkpoint.AuditLog(orgID), r.LastSeq, r.LastHash)
	if err != nil {
		return checkpoint.Checkpoint{}, r, false, fmt.Errorf("checkpointing the audit log of %s: %w", orgID, err)
	}
	return cp, r, true, nil
}

// ListCheckpoints returns up to limit checkpoints of the organisation's log numbered below before (0:
// from the newest), newest first. It returns the store's error.
func (s *Service) ListCheckpoints(ctx context.Context, orgID string, before int64, limit int) ([]checkpoint.Checkpoint, error) {
	if s.cps == nil {
		return nil, nil
	}
	limit = min(max(limit, 1), MaxListLimit)
	cps, err := s.cps.List(ctx, checkpoint.AuditLog(orgID), before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the checkpoints of the audit log of %s: %w", orgID, err)
	}
	return cps, nil
}
