package evidence

import (
	"context"
	"strconv"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Store persists items and their custody events. There is no method that changes or removes an
// event: the chain is append-only in the store too. Access control is the Service's job.
type Store interface {
	// CreateItem stores a new item (State and Head as given); ErrExists when its id is taken.
	CreateItem(ctx context.Context, it Item) error
	// Item returns an item by id (any organisation), or ErrNotFound.
	Item(ctx context.Context, id string) (Item, error)
	// ListItems returns the items of a case after the key after (the zero key: from the first), by
	// creation time then id: at most limit of them, or all when limit is below 1.
	ListItems(ctx context.Context, caseID string, after ItemKey, limit int) ([]Item, error)
	// ListOrgProblemItems returns the items of an organisation whose state records a failed hash
	// verification or a broken seal, by creation time then id.
	ListOrgProblemItems(ctx context.Context, orgID string) ([]Item, error)
	// InsertEvents stores events (of one item, consecutive Seqs, ascending) in order, stopping at
	// the first whose Seq is taken: then it returns a *SeqTakenError saying how many were stored.
	InsertEvents(ctx context.Context, events []Event) error
	// SetHead records the item's new head and state unless its head is already at or past head.Seq.
	SetHead(ctx context.Context, it Item, head Head, st State) error
	// Event returns event seq of item itemID; false when there is none.
	Event(ctx context.Context, itemID string, seq int64) (Event, bool, error)
	// EventIDs returns the client id and Seq of every event of the item.
	EventIDs(ctx context.Context, itemID string) (map[string]int64, error)
	// Events returns up to limit events of the item with Seq > after, ascending.
	Events(ctx context.Context, itemID string, after int64, limit int) ([]Event, error)
	// ScanEvents calls fn with every event of the item in ascending Seq order, stopping at fn's
	// first error, which it returns.
	ScanEvents(ctx context.Context, itemID string, fn func(Event) error) error
}

// Cases checks a principal's access to a case (*casework.Service satisfies it).
type Cases interface {
	// CaseAccess reads the case and checks p may see and change it; see casework.Service.CaseAccess.
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// Audit actions.
const (
	ActionItemCreate   = "evidence.create"
	ActionItemRead     = "evidence.read"
	ActionItemList     = "evidence.list"
	ActionEventAppend  = "evidence.append"
	ActionEventsRead   = "evidence.events_read"
	ActionVerify       = "evidence.verify"
	ActionCaseVerify   = "evidence.verify_case"
	ActionExport       = "evidence.export"
	resourceItem       = "evidence_item"
	resourceCase       = "case"
	maxEventsPerItem   = 100000
	defaultEventsLimit = 50
	maxEventsLimit     = 200
)
