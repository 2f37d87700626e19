package audit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Limits of List.
const (
	DefaultListLimit = 50  // used when the limit asked for is below 1
	MaxListLimit     = 200 // larger limits are cut to this
)

// MaxRecordAttempts bounds how many sequence numbers Record tries when writers of other instances
// keep taking them first. Measured on the embedded database with instances recording 100 entries of
// one organisation back to back (race detector on), the unluckiest record lost 10 races with 2
// instances, 20 with 5 and 39 with 10: under overload of one organisation Record slows down (each
// attempt is two or three small database operations) well before it gives up, and the request's
// deadline usually ends it first.
const MaxRecordAttempts = 100

// lockStripes is the number of per-organisation write locks (organisations share them by hash).
const lockStripes = 64

// Problem kinds reported by Verify.
const (
	ProblemHashMismatch = "hash_mismatch" // the entry's fields do not give its Hash: it was altered
	ProblemBrokenLink   = "broken_link"   // the entry's PrevHash is not the previous entry's Hash
	ProblemGap          = "gap"           // an entry is missing (deleted, or the log was truncated)
)

// Problem is the first thing wrong with a log: the Seq where it is, its Kind (one of the Problem
// constants) and a developer-facing Detail.
type Problem struct {
	Seq    int64
	Kind   string
	Detail string
}

// Report is the result of Verify: the number of entries read, whether the whole chain is intact,
// the first problem when it is not, and the Seq and Hash of the newest entry read (worth noting
// outside the system: any later rewrite of the log up to there changes that hash).
type Report struct {
	Entries      int
	OK           bool
	FirstProblem *Problem
	LastSeq      int64
	LastHash     string
}

// Service records, lists and verifies audit logs. It is safe for concurrent use.
type Service struct {
	store Store
	now   func() time.Time
	// locks serialise Record per organisation within this process (a buffered channel of one is a
	// lock that a waiter can give up on when its context ends).
	locks [lockStripes]chan struct{}
}

// NewService returns a Service over store taking the time from now (time.Now in production).
func NewService(store Store, now func() time.Time) *Service {
	s := &Service{store: store, now: now}
	for i := range s.locks {
		s.locks[i] = make(chan struct{}, 1)
	}
	return s
}

func (s *Service) lock(ctx context.Context, orgID string) (unlock func(), err error) {
	h := fnv.New32a()
	h.Write([]byte(orgID))
	l := s.locks[h.Sum32()%lockStripes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to record an audit entry: %w", ctx.Err())
	}
}

// Record appends e to its organisation's log and returns it as stored: the caller's Seq, Time,
// PrevHash and Hash are replaced by the next number, the server time (UTC, milliseconds) and the
// chain link. Writers in this process take turns per organisation; when a writer of another instance
// takes the number first, Record goes on after the head or after the entry that took the number,
// whichever is newer, up to MaxRecordAttempts numbers. It returns an error wrapping ErrInvalidEntry
// when e is refused (see Entry.Validate), an *apperr.Error of kind Unavailable (code "audit_busy")
// when every attempt lost the race, the context's error when it ends while waiting for its turn, or
// the store's error. On any error the caller must fail its request: auditing cannot be skipped.
func (s *Service) Record(ctx context.Context, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	unlock, err := s.lock(ctx, e.OrgID)
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	// The head may name an entry deleted from the log: going on after it keeps the gap visible to
	// Verify instead of reusing the number.
	prev, ok, err := s.store.Last(ctx, e.OrgID)
	if err != nil {
		return Entry{}, fmt.Errorf("reading the end of the audit log of %s: %w", e.OrgID, err)
	}
	for range MaxRecordAttempts {
		e.Seq, e.PrevHash = 1, ZeroHash
		if ok {
			e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
		}
		e.Time = s.now().UTC().Truncate(time.Millisecond)
		e.Hash = e.ComputeHash()
		err := s.store.Append(ctx, e)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, ErrSeqTaken) {
			return Entry{}, fmt.Errorf("appending audit entry %s:%d: %w", e.OrgID, e.Seq, err)
		}
		// Go on from the head when it is at or past the number lost (this writer may be far behind),
		// otherwise from the entry that took the number: its writer has not moved the head yet, and
		// waiting for it would make this writer lose again.
		taken := e.Seq
		prev, ok, err = s.store.Last(ctx, e.OrgID)
		if err == nil && (!ok || prev.Seq < taken) {
			var found bool
			var entry Entry
			if entry, found, err = s.store.Entry(ctx, e.OrgID, taken); found {
				prev, ok = entry, true
			}
		}
		if err != nil {
			return Entry{}, fmt.Errorf("reading the end of the audit log of %s: %w", e.OrgID, err)
		}
	}
	return Entry{}, &apperr.Error{Kind: apperr.Unavailable, Code: "audit_busy", MessageID: "ErrDatabaseUnavailable",
		Err: fmt.Errorf("recording an audit entry of %s: the next sequence number was taken %d times", e.OrgID, MaxRecordAttempts)}
}

// List returns up to limit entries of the organisation with Seq > after that match f, oldest first
// (ascending Seq). Pass the Seq of the last entry of a page as after to get the next page. A limit
// below 1 means DefaultListLimit; above MaxListLimit it is cut to MaxListLimit; a negative after
// means 0. It returns the store's error.
func (s *Service) List(ctx context.Context, orgID string, f Filter, after int64, limit int) ([]Entry, error) {
	if limit < 1 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	after = max(after, 0)
	entries, err := s.store.List(ctx, orgID, f, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the audit log of %s: %w", orgID, err)
	}
	return entries, nil
}

// Verify reads the organisation's whole log in Seq order and checks that the numbers run 1, 2, 3, ...
// without a gap, that every entry's Hash is the hash of its fields and that every PrevHash is the
// previous entry's Hash. Then it checks the log against the store's head (see Store): a head beyond
// the last entry means the newest entries were deleted (a gap after the last entry), and a head whose
// Hash differs from the entry it names means that entry was rewritten (a broken link: the head is the
// only link to the newest entry). The report gives the first problem found. Entries recorded while
// Verify runs may or may not be included. It returns an error only when the store fails.
func (s *Service) Verify(ctx context.Context, orgID string) (Report, error) {
	head, hasHead, err := s.store.Last(ctx, orgID) // before the scan: every entry it names is then scanned
	if err != nil {
		return Report{}, fmt.Errorf("reading the head of the audit log of %s: %w", orgID, err)
	}
	var r Report
	var hashAtHead string
	next, prevHash := int64(1), ZeroHash
	err = s.store.Scan(ctx, orgID, func(e Entry) error {
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
	if r.FirstProblem == nil && hasHead {
		switch {
		case head.Seq >= next:
			r.FirstProblem = &Problem{Seq: next, Kind: ProblemGap,
				Detail: fmt.Sprintf("the log ends at entry %d but its head records entry %d: the newest entries were deleted", next-1, head.Seq)}
		case hashAtHead != head.Hash:
			r.FirstProblem = &Problem{Seq: head.Seq, Kind: ProblemBrokenLink,
				Detail: fmt.Sprintf("the head records hash %s for entry %d, the log has %s: the entry was rewritten", head.Hash, head.Seq, hashAtHead)}
		}
	}
	r.OK = r.FirstProblem == nil
	return r, nil
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
