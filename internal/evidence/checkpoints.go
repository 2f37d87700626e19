package evidence

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// Checkpointer makes and finds signed checkpoints of chains (*checkpoint.Keeper satisfies it).
type Checkpointer interface {
	// Make signs and stores a checkpoint of log at seq, or returns the newest when it is at or past
	// seq; an error when the store fails.
	Make(ctx context.Context, log string, seq int64, hash string) (checkpoint.Checkpoint, error)
	// Trusted returns the newest checkpoint of log whose signature verifies; an error when the store fails.
	Trusted(ctx context.Context, log string) (checkpoint.Trust, error)
}

// WithCheckpoints makes s store a signed checkpoint of every chain's new head (after each group
// commit, beside the receipt kept with the item) and check chains against their newest checkpoint,
// and returns s. The checkpoint outlives the item's head: deleting an item's newest events and
// clearing its head is then found without a receipt kept by a client.
func (s *Service) WithCheckpoints(cps Checkpointer) *Service {
	s.cps = cps
	return s
}

// checkpointHead stores the checkpoint of the chain's head after a group commit. A failure is no
// caller's error (the events are stored and receipted); the next commit's checkpoint covers them.
func (s *Service) checkpointHead(ctx context.Context, itemID string, head Head) {
	if s.cps == nil {
		return
	}
	_, _ = s.cps.Make(ctx, checkpoint.CustodyChain(itemID), head.Seq, head.Hash)
}

// checkChain checks a chain read up to lastSeq (hashes by Seq) against its newest valid checkpoint,
// reporting through problem, and returns the checkpoint (nil when there is none) and whether this
// process knows it from memory only. It returns the store's error.
func (s *Service) checkChain(ctx context.Context, itemID string, lastSeq int64, hashes map[int64]string,
	problem func(seq int64, kind, format string, args ...any)) (*checkpoint.Checkpoint, bool, error) {
	if s.cps == nil {
		return nil, false, nil
	}
	trust, err := s.cps.Trusted(ctx, checkpoint.CustodyChain(itemID))
	if err != nil {
		return nil, false, err
	}
	if len(trust.Invalid) > 0 {
		problem(0, ProblemCheckpointInvalid, "checkpoint %d of the chain does not carry a valid signature of this service", trust.Invalid[0])
	}
	if !trust.Found {
		return nil, false, nil
	}
	cp := trust.Checkpoint
	switch {
	case cp.Seq > lastSeq:
		problem(lastSeq+1, ProblemMissingEvent, "the chain ends at event %d but checkpoint %d signs event %d: the newest events were deleted", lastSeq, cp.N, cp.Seq)
	case hashes[cp.Seq] != cp.Hash:
		problem(cp.Seq, ProblemCheckpointMismatch, "checkpoint %d signs hash %s for event %d, the chain has %s", cp.N, cp.Hash, cp.Seq, hashes[cp.Seq])
	}
	return &cp, trust.Lost, nil
}
