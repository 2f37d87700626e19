package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrSeqTaken matches the *SeqTakenError Store.AppendMany returns when the organisation already has
// an entry with one of the numbers (another writer took it first).
var ErrSeqTaken = errors.New("audit sequence number already taken")

// SeqTakenError is the error Store.AppendMany returns when one of the entries' numbers was already
// taken: the entries before it (Written of them) are stored; that entry and the ones after it are not.
// errors.Is(err, ErrSeqTaken) is true for it.
type SeqTakenError struct {
	Written int   // how many entries, from the first, were stored
	Seq     int64 // the number that was taken
}

// Error describes the collision.
func (e *SeqTakenError) Error() string {
	return fmt.Sprintf("%v: entry %d (after %d entries were stored)", ErrSeqTaken, e.Seq, e.Written)
}

// Is reports whether target is ErrSeqTaken.
func (e *SeqTakenError) Is(target error) bool { return target == ErrSeqTaken }

// Filter selects entries in List. A zero field matches anything; set fields must all match.
type Filter struct {
	ActorID      string
	Action       string
	ResourceType string
	ResourceID   string
	Since        time.Time // Time >= Since
	Until        time.Time // Time < Until
}

// Store persists audit entries. Entries are never changed or deleted once appended.
//
// Besides the entries, a store keeps for each organisation a head: a copy of an entry appended, kept
// apart from the log and moved forward (MoveHead) after the entries are stored. The head is what Last
// returns, so finding the end of the log is cheap, and it outlives the entry it copies, so a log whose
// newest entries were deleted can be told from a shorter one.
type Store interface {
	// AppendMany stores entries (all of one organisation, consecutive Seqs in ascending order, each
	// with Seq, Time, PrevHash and Hash set) in that order with one ordered insert, stopping at the
	// first one whose number is taken. It does not move the head. It returns nil when every entry is
	// stored, a *SeqTakenError (matching ErrSeqTaken) saying how many were stored when a number was
	// taken, or another error when the store fails: then any prefix of the entries may be stored.
	AppendMany(ctx context.Context, entries []Entry) error
	// MoveHead makes e (an entry stored before) its organisation's head, unless the head is already
	// at or past e.Seq: a head never moves back. It returns an error when the store fails.
	MoveHead(ctx context.Context, e Entry) error
	// Last returns the organisation's head: its newest entry as far as the head records it, or when
	// the organisation has no head, its entry with the highest Seq; false when it has no entry. The
	// head may lag behind the log by the entries whose writers have not moved it yet (or could not),
	// and it still names an entry that was deleted from the log. It returns an error when the store
	// fails.
	Last(ctx context.Context, orgID string) (Entry, bool, error)
	// Entry returns the organisation's entry numbered seq, and false when there is none. It returns
	// an error when the store fails.
	Entry(ctx context.Context, orgID string, seq int64) (Entry, bool, error)
	// List returns up to limit entries of the organisation with Seq > after that match f, oldest
	// first (ascending Seq). It returns an error when the store fails.
	List(ctx context.Context, orgID string, f Filter, after int64, limit int) ([]Entry, error)
	// Scan calls fn with every entry of the organisation in ascending Seq order. It stops at and
	// returns fn's first error, or returns an error when the store fails.
	Scan(ctx context.Context, orgID string, fn func(Entry) error) error
}
