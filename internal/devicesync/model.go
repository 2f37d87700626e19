package devicesync

import (
	"context"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Record is one synced record as a feed lists it. Data is the domain value (casework.Case,
// casework.Run, ...); the HTTP layer turns it into the record's API view by Type.
type Record struct {
	Type      string // the feed's type: "case", "run", ...
	ID        string
	OrgID     string
	CaseID    string // the case it belongs to; for a case, its own id
	Seq       int64  // change_seq of its last write
	Version   int64  // the record's version when it has one, else 0
	UpdatedAt time.Time
	Data      any

	// Set by the CaseFeed on case records only.
	CaseworkerIDs []string         // assigned caseworkers
	FormerIDs     []string         // caseworkers once assigned, no longer
	AssignedSince map[string]int64 // change_seq at which each current caseworker was assigned
}

// Query selects the records of one organisation with AfterSeq < change_seq <= UpToSeq, in
// change_seq order, at most Limit (0: no limit).
type Query struct {
	OrgID    string
	AfterSeq int64
	UpToSeq  int64
	Limit    int
	// CaseIDs, when not nil, keeps only the records of these cases (case-scoped feeds).
	CaseIDs []string
	// UserID, when not empty, keeps (CaseFeed) only the cases this user is or was assigned to as a
	// caseworker.
	UserID string
}

// Feed lists the changed records of one type. Every method returns an error when the database fails.
type Feed interface {
	// Type names the record type ("case", "run", "interview_session", ...).
	Type() string
	// Changes returns the records matching q, by change_seq.
	Changes(ctx context.Context, q Query) ([]Record, error)
}

// CaseFeed is the feed of cases, which decides who may see what.
type CaseFeed interface {
	Feed
	// AssignedCaseIDs returns the ids of the cases of orgID userID is assigned to as a caseworker.
	AssignedCaseIDs(ctx context.Context, orgID, userID string) ([]string, error)
}

// Narrower is implemented by case-scoped feeds whose records not everyone who sees the case may
// see (for example records only supervisors may read).
type Narrower interface {
	// Visible reports whether p, who may see rec's case, may see rec.
	Visible(p identity.Principal, rec Record) bool
}

// LibraryEntry is one latest published protocol version: devices fetch the content of changed
// ones (GET /v1/protocols/{id}/versions/{version}).
type LibraryEntry struct {
	ProtocolID  string
	Version     int
	ContentHash string
	PublishedAt time.Time
}

// Library gives the latest published protocol versions (the protocol library is the same for every
// organisation and is not in the change sequence: it is synced by fingerprint).
type Library interface {
	LatestEntries() []LibraryEntry
}

// Removal says a record left what the user may see (a caseworker unassigned from the case). A
// removed case removes everything of that case on the device.
type Removal struct {
	Type   string
	ID     string
	CaseID string
	Seq    int64
	Reason string // "unassigned"
}

// Page is one answer to a pull.
type Page struct {
	Records  []Record
	Removals []Removal
	Library  []LibraryEntry // set when the library changed since the cursor (always on a snapshot)
	// Reset is true on the first page of a snapshot: the device drops what it holds and keeps what
	// the snapshot brings.
	Reset      bool
	NextCursor string
	HasMore    bool  // more pages follow at once; pull again with NextCursor
	Watermark  int64 // the change sequence number the device is complete up to once HasMore is false
}

// Action is what an operation does.
type Action string

// The actions.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionAppend Action = "append"
	ActionClose  Action = "close"  // a case: closed with a reason at a base version
	ActionReopen Action = "reopen" // a case: reopened with a reason at a base version
)

// Operation is one change a device made offline. Payload is its body, decoded once by the HTTP
// layer into the payload of its kind (Type and Action; see Kind), which the kind's Handler takes.
type Operation struct {
	OpID        string // chosen by the device (a UUID): the same OpID is applied once
	Type        string
	Action      Action
	ID          string // the record's id (client-generated on create)
	CaseID      string
	BaseVersion int64 // update: the version the device changed
	Group       string
	// Fingerprint identifies the operation's content (the HTTP layer hashes what the device sent):
	// it is stored with the first result, and the same OpID pushed again with another Fingerprint
	// is a reuse, answered as a conflict showing the held result rather than as a retry.
	Fingerprint string
	Payload     Payload
	// Refused is the client error of an operation refused before it reached the engine (its
	// payload did not decode or validate): the engine rejects it with that problem, applies nothing
	// of its group, and hands it to no applier.
	Refused error
}

// Status is the outcome of one operation.
type Status string

// The outcomes.
const (
	StatusApplied        Status = "applied"
	StatusAlreadyApplied Status = "already_applied" // a replay: Result is the first result
	StatusMerged         Status = "merged"          // stale base version, changes of other fields merged
	StatusConflict       Status = "conflict"        // stale base version, the same fields changed: Current is the server copy
	StatusRejected       Status = "rejected"        // Problem says why
	StatusNotApplied     Status = "not_applied"     // another operation of its all-or-nothing group failed
)

// Result is the outcome of one operation.
type Result struct {
	OpID              string
	Status            Status
	Type              string
	ID                string
	Record            *Record  // the record as stored after the operation (applied, merged, replayed)
	Current           *Record  // conflict: the server copy
	MergedFields      []string // merged: the device's fields applied on top of the server's changes
	ConflictingFields []string // conflict: the fields both sides changed
	Problem           error    // rejected or not_applied: an *apperr.Error
	Replay            []byte   // already_applied, or a conflict of a reused OpID: the first result as it was encoded then
}

// Registration adds a record type to the sync engine.
type Registration struct {
	Feed Feed
	// Appliers handle the push operations of the type, one per kind (Handle); none: the type is
	// pull-only.
	Appliers []Applier
}

// DeviceState is the sync state of one device.
type DeviceState struct {
	OrgID      string
	DeviceID   string
	UserID     string
	LastPullAt *time.Time
	LastPushAt *time.Time
	Watermark  int64 // what its last complete pull reached
	Pulls      int64
	Pushes     int64
}
