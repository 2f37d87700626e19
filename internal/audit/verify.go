package audit

import (
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// probeBeyond is how far past a missing number Verify looks for more entries (1, 2, 4, ... up to
// 2^probeBeyond): entries stored past a gap whose head was deleted too.
const probeBeyond = 16

// progressEvery is how many entries VerifyFull reads between calls of its progress function.
const progressEvery = 1000

// RangeScanner is implemented by stores that read the entries from a number on in one query (on
// MongoDB, with the org_seq index). Verify uses it when the store has it, and reads by number
// (Store.Entry) otherwise.
type RangeScanner interface {
	// ScanFrom calls fn with the organisation's entries numbered from on, ascending, stopping at and
	// returning fn's first error; it may stop at the first missing number. It returns an error when
	// the store fails.
	ScanFrom(ctx context.Context, orgID string, from int64, fn func(Entry) error) error
}

// Verify checks the organisation's log from its newest signed checkpoint on: the checkpoint's
// signature, that the entry it names exists and has the signed hash, then every later entry (its
// hash, its link, the numbers without a gap) and the log's head (see VerifyFull). Entries before the
// checkpoint are not read: VerifyFull (a background job, see StartVerifyJob) reads them. The report
// names the checkpoint trusted and how many entries follow it (not yet covered by a signature).
// Without a checkpointer, or when the log has no checkpoint whose signature verifies, it is
// VerifyFull. It returns an error only when a store fails.
func (s *Service) Verify(ctx context.Context, orgID string) (Report, error) {
	if s.cps == nil {
		return s.VerifyFull(ctx, orgID, nil)
	}
	trust, err := s.cps.Trusted(ctx, checkpoint.AuditLog(orgID))
	if err != nil {
		return Report{}, fmt.Errorf("reading the checkpoints of the audit log of %s: %w", orgID, err)
	}
	invalid := func(r *Report) {
		if len(trust.Invalid) > 0 {
			r.FirstProblem = &Problem{Seq: 0, Kind: ProblemCheckpointInvalid,
				Detail: fmt.Sprintf("checkpoint %d of the log does not carry a valid signature of this service", trust.Invalid[0])}
			r.OK = false
		}
	}
	if !trust.Found {
		r, err := s.VerifyFull(ctx, orgID, nil)
		if err == nil && r.FirstProblem == nil {
			invalid(&r)
		}
		return r, err
	}
	head, hasHead, err := s.head(ctx, orgID)
	if err != nil {
		return Report{}, err
	}
	cp := trust.Checkpoint
	r := Report{Checkpoint: &cp, CheckpointLost: trust.Lost, FromSeq: cp.Seq}
	problem := func(p *Problem) {
		if r.FirstProblem == nil {
			r.FirstProblem = p
		}
	}
	invalid(&r)
	first, ok, err := s.store.Entry(ctx, orgID, cp.Seq)
	if err != nil {
		return Report{}, fmt.Errorf("reading audit entry %d of %s: %w", cp.Seq, orgID, err)
	}
	if !ok {
		problem(&Problem{Seq: cp.Seq, Kind: ProblemGap,
			Detail: fmt.Sprintf("entry %d, which checkpoint %d signs, is missing: the log was truncated or its newest entries deleted", cp.Seq, cp.N)})
		r.OK = false
		return r, nil
	}
	r.Entries, r.LastSeq, r.LastHash = 1, first.Seq, first.Hash
	if h := first.ComputeHash(); h != first.Hash {
		problem(&Problem{Seq: first.Seq, Kind: ProblemHashMismatch, Detail: fmt.Sprintf("stored hash %s, fields hash to %s", first.Hash, h)})
	} else if first.Hash != cp.Hash {
		problem(&Problem{Seq: first.Seq, Kind: ProblemBrokenLink,
			Detail: fmt.Sprintf("checkpoint %d signs hash %s for entry %d, the log has %s: the log was rewritten", cp.N, cp.Hash, cp.Seq, first.Hash)})
	}
	hashAtHead := ""
	if hasHead && head.Seq == first.Seq {
		hashAtHead = first.Hash
	}
	next, prevHash := first.Seq+1, first.Hash
	err = s.walk(ctx, orgID, next, func(e Entry) error {
		r.Entries++
		r.LastSeq, r.LastHash = e.Seq, e.Hash
		if r.FirstProblem == nil {
			r.FirstProblem = check(e, next, prevHash)
		}
		if hasHead && e.Seq == head.Seq {
			hashAtHead = e.Hash
		}
		next, prevHash = e.Seq+1, e.Hash
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("reading the audit log of %s: %w", orgID, err)
	}
	if hasHead && head.Seq >= cp.Seq {
		problem(headProblem(head, next, hashAtHead))
	}
	r.AfterCheckpoint = r.LastSeq - cp.Seq
	r.OK = r.FirstProblem == nil
	return r, nil
}

// walk calls fn with the organisation's entries numbered from on, ascending: through the store's
// RangeScanner when it has one, else by number until one is missing; then it looks for entries past
// the last one found (at +1, +2, +4, ... +2^probeBeyond) and goes on from any it finds, so entries
// stored after a deleted stretch are read (and the stretch reported as a gap by the caller).
func (s *Service) walk(ctx context.Context, orgID string, from int64, fn func(Entry) error) error {
	next := from
	each := func(e Entry) error {
		next = e.Seq + 1
		return fn(e)
	}
	scan := func(from int64) error {
		if rs, ok := s.store.(RangeScanner); ok {
			return rs.ScanFrom(ctx, orgID, from, each)
		}
		for seq := from; ; seq++ {
			e, ok, err := s.store.Entry(ctx, orgID, seq)
			if err != nil || !ok {
				return err
			}
			if err := each(e); err != nil {
				return err
			}
		}
	}
	if err := scan(from); err != nil {
		return err
	}
	for {
		found := int64(0)
		for k := range probeBeyond + 1 {
			seq := next + int64(1)<<k
			_, ok, err := s.store.Entry(ctx, orgID, seq)
			if err != nil {
				return err
			}
			if ok {
				found = seq
				break
			}
		}
		if found == 0 {
			return nil
		}
		// Go back to the first entry after the missing one(s): scan from found and below it.
		start := found
		for start-1 > next {
			_, ok, err := s.store.Entry(ctx, orgID, start-1)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			start--
		}
		if err := scan(start); err != nil {
			return err
		}
	}
}

// head returns the store's head of the organisation's log, or the newest entry this process stored
// when that is newer (the stored head may lag, see Record).
func (s *Service) head(ctx context.Context, orgID string) (Entry, bool, error) {
	head, hasHead, err := s.store.Last(ctx, orgID)
	if err != nil {
		return Entry{}, false, fmt.Errorf("reading the head of the audit log of %s: %w", orgID, err)
	}
	s.mu.Lock()
	if q := s.orgs[orgID]; q != nil && q.hasStored && (!hasHead || q.stored.Seq > head.Seq) {
		head, hasHead = q.stored, true
	}
	s.mu.Unlock()
	return head, hasHead, nil
}

// headProblem compares the log, read up to next-1 with hashAtHead the hash of the entry numbered
// head.Seq ("" when not read), with its head.
func headProblem(head Entry, next int64, hashAtHead string) *Problem {
	switch {
	case head.Seq >= next:
		return &Problem{Seq: next, Kind: ProblemGap,
			Detail: fmt.Sprintf("the log ends at entry %d but its head records entry %d: the newest entries were deleted", next-1, head.Seq)}
	case hashAtHead != head.Hash:
		return &Problem{Seq: head.Seq, Kind: ProblemBrokenLink,
			Detail: fmt.Sprintf("the head records hash %s for entry %d, the log has %s: the entry was rewritten", head.Hash, head.Seq, hashAtHead)}
	}
	return nil
}

// VerifyFull reads the organisation's whole log in Seq order and checks that the numbers run 1, 2,
// 3, ... without a gap, that every entry's Hash is the hash of its fields and that every PrevHash is
// the previous entry's Hash. Then it checks the log against its head: the store's (see Store), or the
// newest entry this process stored when that is newer. A head beyond the last entry means the newest
// entries were deleted (a gap after the last entry), and a head whose Hash differs from the entry it
// names means that entry was rewritten (a broken link: the head is the only link to the newest
// entry). With a checkpointer it also checks every checkpoint of the log: numbered 1, 2, 3, ...
// without a gap, each signature valid, each naming an entry the log has with the hash signed. The
// report gives the first problem found. progress, when not nil, is called every progressEvery entries
// with the entries read and the number the log should have (the head's Seq). Entries recorded while it
// runs may or may not be included. It returns an error only when a store fails.
func (s *Service) VerifyFull(ctx context.Context, orgID string, progress func(read, total int64)) (Report, error) {
	head, hasHead, err := s.head(ctx, orgID) // before the scan: every entry it names is then scanned
	if err != nil {
		return Report{}, err
	}
	r := Report{Full: true, FromSeq: 1}
	problem := func(p *Problem) {
		if r.FirstProblem == nil && p != nil {
			r.FirstProblem = p
		}
	}
	signed, newest, err := s.checkpoints(ctx, orgID, problem)
	if err != nil {
		return Report{}, err
	}
	if newest != nil {
		r.Checkpoint = newest
	}
	var hashAtHead string
	next, prevHash := int64(1), ZeroHash
	err = s.store.Scan(ctx, orgID, func(e Entry) error {
		r.Entries++
		r.LastSeq, r.LastHash = e.Seq, e.Hash
		if r.FirstProblem == nil {
			r.FirstProblem = check(e, next, prevHash)
		}
		if cp, ok := signed[e.Seq]; ok && cp.Hash != e.Hash {
			problem(&Problem{Seq: e.Seq, Kind: ProblemBrokenLink,
				Detail: fmt.Sprintf("checkpoint %d signs hash %s for entry %d, the log has %s: the log was rewritten", cp.N, cp.Hash, e.Seq, e.Hash)})
		}
		if hasHead && e.Seq == head.Seq {
			hashAtHead = e.Hash
		}
		next, prevHash = e.Seq+1, e.Hash
		if progress != nil && r.Entries%progressEvery == 0 {
			progress(int64(r.Entries), max(head.Seq, next-1))
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("reading the audit log of %s: %w", orgID, err)
	}
	if newest != nil && newest.Seq >= next {
		problem(&Problem{Seq: next, Kind: ProblemGap,
			Detail: fmt.Sprintf("the log ends at entry %d but checkpoint %d signs entry %d: the newest entries were deleted", next-1, newest.N, newest.Seq)})
	}
	if hasHead {
		problem(headProblem(head, next, hashAtHead))
	}
	if newest != nil {
		r.AfterCheckpoint = max(r.LastSeq-newest.Seq, 0)
	}
	if progress != nil {
		progress(int64(r.Entries), int64(r.Entries))
	}
	r.OK = r.FirstProblem == nil
	return r, nil
}

// checkpoints reads every stored checkpoint of the log, reporting numbers missing below the newest
// and signatures that do not verify, and returns the valid ones by the Seq they sign and the newest
// valid one (nil when none).
func (s *Service) checkpoints(ctx context.Context, orgID string, problem func(*Problem)) (map[int64]checkpoint.Checkpoint, *checkpoint.Checkpoint, error) {
	signed := map[int64]checkpoint.Checkpoint{}
	if s.cps == nil {
		return signed, nil, nil
	}
	log := checkpoint.AuditLog(orgID)
	last, ok, err := s.cps.Newest(ctx, log)
	if err != nil || !ok {
		return signed, nil, err
	}
	var newest *checkpoint.Checkpoint
	for n := int64(1); n <= last.N; n++ {
		cp, ok, err := s.cps.Get(ctx, log, n)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !ok:
			problem(&Problem{Kind: ProblemCheckpointMissing, Detail: fmt.Sprintf("checkpoint %d of the log is missing (checkpoint %d exists): it was deleted", n, last.N)})
		case s.cps.Verify(cp) != nil:
			problem(&Problem{Kind: ProblemCheckpointInvalid, Detail: fmt.Sprintf("checkpoint %d of the log does not carry a valid signature of this service", n)})
		default:
			signed[cp.Seq] = cp
			newest = &cp
		}
	}
	return signed, newest, nil
}

// check returns what is wrong with e when the entry expected is number next, linked to prevHash.
func check(e Entry, next int64, prevHash string) *Problem {
	if e.Seq != next {
		if e.Seq < next { // cannot happen with a store that keeps one entry per number
			return &Problem{Seq: e.Seq, Kind: ProblemGap, Detail: fmt.Sprintf("entry %d appears again after entry %d", e.Seq, next-1)}
		}
		return &Problem{Seq: next, Kind: ProblemGap, Detail: fmt.Sprintf("entries %d to %d are missing", next, e.Seq-1)}
	}
	if h := e.ComputeHash(); h != e.Hash {
		return &Problem{Seq: e.Seq, Kind: ProblemHashMismatch, Detail: fmt.Sprintf("stored hash %s, fields hash to %s", e.Hash, h)}
	}
	if e.PrevHash != prevHash {
		return &Problem{Seq: e.Seq, Kind: ProblemBrokenLink, Detail: fmt.Sprintf("prev_hash %s, previous entry's hash %s", e.PrevHash, prevHash)}
	}
	return nil
}
