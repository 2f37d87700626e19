package evidence

import (
	"context"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// Problem kinds reported by verification.
const (
	ProblemHashMismatch    = "hash_mismatch"    // an event's fields do not give its hash (or cannot be decrypted): it was edited
	ProblemBrokenLink      = "broken_link"      // an event's prev_hash is not the previous event's hash
	ProblemGap             = "gap"              // sequence numbers skip: events in the middle are missing
	ProblemMissingEvent    = "missing_event"    // the head or a receipt names an event the chain does not have (the newest were deleted)
	ProblemHeadMismatch    = "head_mismatch"    // the item's head names a hash the chain does not have there
	ProblemReceiptMismatch = "receipt_mismatch" // a signed receipt names a hash the chain does not have there, or the head is not the signed one
	ProblemReceiptInvalid  = "receipt_invalid"  // a receipt is malformed, forged or for another item
	ProblemItemMismatch    = "item_mismatch"    // the item record is not the one sealed into the first event
	// ProblemIntegrityFailed: the chain holds, but a hash_verified event found the item's content
	// different from the hash recorded at acquisition: the evidence itself cannot be relied on.
	ProblemIntegrityFailed = "integrity_failed"
	// ProblemCheckpointMismatch: the newest signed checkpoint names a hash the chain does not have there.
	ProblemCheckpointMismatch = "checkpoint_mismatch"
	// ProblemCheckpointInvalid: a stored checkpoint's signature does not verify (forged or altered).
	ProblemCheckpointInvalid = "checkpoint_invalid"
)

// Integrity of an item's content, as its hash checks found it.
const (
	IntegrityIntact = "intact" // no hash check failed (none may have been made)
	IntegrityFailed = "failed" // a hash_verified event did not match the item's hash
)

// Problem is the first thing wrong with a chain: where (Seq), what (Kind) and a developer-facing Detail.
type Problem struct {
	Seq    int64
	Kind   string
	Detail string
}

// Report is the verification of one item's chain: how many events were read, whether everything
// holds, the first problem otherwise, the newest event read, the head and receipt checked, and the
// state the chain gives.
type Report struct {
	ItemID          string
	Events          int
	OK              bool
	FirstProblem    *Problem
	LastSeq         int64
	LastHash        string
	HeadSeq         int64
	ReceiptSeq      int64
	ReceiptSignedAt time.Time
	UnsignedEvents  int64 // events after the signed head (a head update that did not happen yet)
	State           State
	Integrity       string // IntegrityIntact or IntegrityFailed; a failed item is never OK
	// Checkpoint is the chain's newest checkpoint whose signature verifies (nil: none), which the
	// chain was checked against; CheckpointLost says this process knows it from memory only.
	Checkpoint     *checkpoint.Checkpoint
	CheckpointLost bool
	// ContentErased says the case was erased: the events' encrypted fields are gone, so their hashes
	// were not recomputed from the fields; the links between the stored hashes, the numbering, the
	// head, the checkpoints and the receipts were checked as usual.
	ContentErased bool
}

// verify recomputes item it's chain (calling each, when set, with every event read) and checks it
// against the item's head, its newest signed checkpoint, its stored receipt and the given receipt.
// The whole chain is read (chains are short, and the item's state comes from all its events); the
// checkpoint adds what the item's head cannot prove once it is cleared: how long the chain was. It returns an error only when
// the store fails.
func (s *Service) verify(ctx context.Context, it Item, given string, each func(Event)) (Report, error) {
	rep := Report{ItemID: it.ID, HeadSeq: it.Head.Seq}
	problem := func(seq int64, kind, format string, args ...any) {
		if rep.FirstProblem == nil {
			rep.FirstProblem = &Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		}
	}
	hashes := map[int64]string{}
	next, prev := int64(1), ZeroHash
	st := State{StorageLocation: it.StorageLocation, SealNumber: it.SealNumber}
	err := s.store.ScanEvents(ctx, it.ID, func(e Event) error {
		if each != nil {
			each(e)
		}
		rep.Events++
		rep.LastSeq, rep.LastHash = e.Seq, e.Hash
		hashes[e.Seq] = e.Hash
		st = st.Apply(e)
		switch {
		case e.Seq > next:
			problem(next, ProblemGap, "events %d to %d are missing", next, e.Seq-1)
		case e.Seq < next:
			problem(e.Seq, ProblemGap, "event %d appears again after event %d", e.Seq, next-1)
		case e.Erased && e.PrevHash != prev:
			problem(e.Seq, ProblemBrokenLink, "event %d: prev_hash %s, the previous event's hash is %s", e.Seq, e.PrevHash, prev)
		case e.Erased:
			rep.ContentErased = true // its fields are gone: only the links can be checked
		case e.Unreadable:
			problem(e.Seq, ProblemHashMismatch, "event %d cannot be decrypted: its stored fields were altered", e.Seq)
		case e.ComputeHash() != e.Hash:
			problem(e.Seq, ProblemHashMismatch, "event %d: stored hash %s, its fields hash to %s", e.Seq, e.Hash, e.ComputeHash())
		case e.PrevHash != prev:
			problem(e.Seq, ProblemBrokenLink, "event %d: prev_hash %s, the previous event's hash is %s", e.Seq, e.PrevHash, prev)
		case e.Seq == 1 && (e.Type != EventCollected || e.ItemDigest != it.Digest()):
			problem(1, ProblemItemMismatch, "the item record does not match the digest sealed into event 1")
		}
		if e.Type == EventHashVerified && e.Matches != nil && !*e.Matches {
			problem(e.Seq, ProblemIntegrityFailed, "event %d: the item's %s hash does not match the one recorded for it", e.Seq, e.Verified.Algorithm)
		}
		next, prev = e.Seq+1, e.Hash
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("reading the custody chain of %s: %w", it.ID, err)
	}
	rep.State = st
	rep.Integrity = IntegrityIntact
	if st.IntegrityFailed {
		rep.Integrity = IntegrityFailed
	}
	if rep.Events == 0 {
		problem(1, ProblemMissingEvent, "the item has no custody event")
	}
	if it.Head.Seq > rep.LastSeq {
		problem(rep.LastSeq+1, ProblemMissingEvent, "the chain ends at event %d but the item's head is event %d: the newest events were deleted", rep.LastSeq, it.Head.Seq)
	} else if it.Head.Seq > 0 && hashes[it.Head.Seq] != it.Head.Hash {
		problem(it.Head.Seq, ProblemHeadMismatch, "the item's head records hash %s for event %d, the chain has %s", it.Head.Hash, it.Head.Seq, hashes[it.Head.Seq])
	}
	rep.UnsignedEvents = max(rep.LastSeq-it.Head.Seq, 0)
	if rep.Checkpoint, rep.CheckpointLost, err = s.checkChain(ctx, it.ID, rep.LastSeq, hashes, problem); err != nil {
		return Report{}, fmt.Errorf("reading the checkpoints of the custody chain of %s: %w", it.ID, err)
	}
	check := func(token, which string, stored bool) {
		rc, err := s.signer.Verify(token)
		if err != nil || rc.ItemID != it.ID || rc.CaseID != it.CaseID || rc.OrgID != it.OrgID {
			problem(it.Head.Seq, ProblemReceiptInvalid, "the %s receipt is not a valid receipt of this service for this item", which)
			return
		}
		if rc.Seq > rep.LastSeq {
			problem(rep.LastSeq+1, ProblemMissingEvent, "the %s receipt signs event %d, the chain ends at %d", which, rc.Seq, rep.LastSeq)
			return
		}
		if hashes[rc.Seq] != rc.HeadHash {
			problem(rc.Seq, ProblemReceiptMismatch, "the %s receipt signs hash %s for event %d, the chain has %s", which, rc.HeadHash, rc.Seq, hashes[rc.Seq])
			return
		}
		if stored && (rc.Seq != it.Head.Seq || rc.HeadHash != it.Head.Hash) {
			problem(it.Head.Seq, ProblemReceiptMismatch, "the item's head (event %d) is not the one its receipt signs (event %d)", it.Head.Seq, rc.Seq)
			return
		}
		if stored {
			rep.ReceiptSeq, rep.ReceiptSignedAt = rc.Seq, rc.SignedAt
		}
	}
	if it.Head.Seq > 0 || it.Head.Receipt != "" {
		check(it.Head.Receipt, "stored", true)
	}
	if given != "" {
		check(given, "given", false)
	}
	rep.OK = rep.FirstProblem == nil
	return rep, nil
}
