package casework

import (
	"context"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// StoreFilter selects cases of one organisation. Zero fields select everything. AssigneeIDs lists
// user ids that must all be among a case's CaseworkerIDs.
type StoreFilter struct {
	OrgID        string
	Status       Status
	AssigneeIDs  []string
	CaseType     protocol.CaseType
	AgeBand      protocol.AgeBand
	UpdatedSince time.Time // cases with UpdatedAt at or after it
	Flag         string    // cases with an unresolved flag of this kind (package caseflag)
}

// Store persists cases and runs. Every method returns the sentinels documented on it, or another
// error (wrapping the driver's) when the database fails. Access control is the Service's job: the
// Store reads any record by id.
type Store interface {
	// CreateCase stores a new case; ErrExists when its id is taken.
	CreateCase(ctx context.Context, c Case) error
	// Case returns a case by id (any organisation), or ErrNotFound.
	Case(ctx context.Context, id string) (Case, error)
	// ListCases returns up to limit cases matching f with ids after afterID, by id.
	ListCases(ctx context.Context, f StoreFilter, afterID string, limit int) ([]Case, error)
	// UpdateCase replaces every mutable field of case c.ID when its stored version is c.Version-1.
	// ErrStale when the version differs, ErrNotFound when the case does not exist.
	UpdateCase(ctx context.Context, c Case) error

	// CreateRun stores a new run (with its records); ErrExists when its id is taken.
	CreateRun(ctx context.Context, r Run) error
	// Run returns a run by id, or ErrNotFound.
	Run(ctx context.Context, id string) (Run, error)
	// ListRuns returns the runs of a case, by start time then id.
	ListRuns(ctx context.Context, caseID string) ([]Run, error)
	// OpenWork returns every open case of organisation orgID, by id, and their runs, by case, start
	// time and id (see OpenWork for what each holds): what the supervisor's overview reads on every
	// request. An implementation may answer from a cache that
	// it keeps exactly up to date with every write that ended before the call.
	OpenWork(ctx context.Context, orgID string) (OpenWork, error)
	// AppendStepRecord appends rec to run runID unless the run already holds a record with
	// rec.ClientID; appended reports which. ErrNotFound when the run does not exist.
	AppendStepRecord(ctx context.Context, runID string, rec StepRecord) (appended bool, err error)
}

// OpenWork is an organisation's open cases and their runs, with only what an overview of cases
// uses: each case's ID, OrgID, Child (without Pseudonym and Needs.DisabilityNotes, which are
// encrypted), CaseTypes, CaseworkerIDs, OpenedAt and Flags; each run without its records' Reason
// and Note. Every other field is zero.
type OpenWork struct {
	Cases []Case // by id
	Runs  []Run  // by case, start time and id
}

// ProtocolSource gives published protocol versions (*protocol.Service satisfies it).
type ProtocolSource interface {
	// Latest returns the latest published version of protocol id, or an *apperr.Error NotFound.
	Latest(id string) (protocol.Version, error)
	// Version returns version n of protocol id, or an *apperr.Error NotFound.
	Version(ctx context.Context, id string, n int) (protocol.Version, error)
}

// Event actions.
const (
	ActionCaseCreate = "case.create"
	ActionCaseRead   = "case.read"
	ActionCaseList   = "case.list"
	ActionCaseUpdate = "case.update"
	ActionCaseClose  = "case.close"
	ActionCaseReopen = "case.reopen"
	ActionRunStart   = "run.start"
	ActionRunRead    = "run.read"
	ActionRunList    = "run.list"
	ActionRunRecord  = "run.step_record"
)

// Event resource types.
const (
	ResourceCase = "case"
	ResourceRun  = "run"
)
