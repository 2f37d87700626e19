package audit

import (
	"context"
	"errors"
	"time"
)

// ErrSeqTaken is returned by Store.Append when the organisation already has an entry with that Seq
// (another writer took the number first).
var ErrSeqTaken = errors.New("audit sequence number already taken")

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
// Besides the entries, a store keeps for each organisation a head: a copy of the newest entry
// appended, kept apart from the log. The head is what Last returns, so finding the end of the log is
// cheap, and it outlives the entry it copies, so a log whose newest entries were deleted can be told
// from a shorter one.
type Store interface {
	// Append stores e (Seq, Time, PrevHash and Hash already set) and then moves the organisation's
	// head to it unless the head is already at or past e.Seq. It returns ErrSeqTaken when the
	// organisation already has an entry numbered e.Seq, or another error when the store fails.
	Append(ctx context.Context, e Entry) error
	// Last returns the organisation's head: its newest entry as far as the head records it, or when
	// the organisation has no head, its entry with the highest Seq; false when it has no entry. The
	// head may lag behind the log by the entries of writers that have not moved it yet (or failed
	// between their two steps), and it still names an entry that was deleted from the log. It returns
	// an error when the store fails.
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
