package caseflag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Kind is what a flag warns about; each has a localized label, message id "caseflag.kind.<kind>".
type Kind string

// The flag kinds.
const (
	KindRiskToChild         Kind = "risk_to_child"
	KindSafeguardingConcern Kind = "safeguarding_concern"
	KindMediaAttention      Kind = "media_attention"
	KindSpecialNeeds        Kind = "special_needs"
	KindAcute               Kind = "acute" // recent abuse: an urgent medical examination (time standards)
	KindOther               Kind = "other"
)

// Kinds lists every flag kind, in the order they are shown.
var Kinds = []Kind{KindRiskToChild, KindSafeguardingConcern, KindMediaAttention, KindSpecialNeeds, KindAcute, KindOther}

// MaxReasonLen is the longest reason accepted (characters).
const MaxReasonLen = 1000

// Flag is one manual flag of a case. Reason and ResolutionReason are encrypted at rest.
type Flag struct {
	ID               string // UUID chosen by the client
	OrgID            string
	CaseID           string
	Kind             Kind
	Reason           string
	RaisedBy         string
	RaisedAt         time.Time
	ResolvedBy       string     // "" while unresolved
	ResolvedAt       *time.Time // nil while unresolved
	ResolutionReason string
	Version          int64 // 1 when raised, 2 once resolved
}

// Active reports whether the flag is unresolved.
func (f Flag) Active() bool { return f.ResolvedAt == nil }

// Store persists flags and keeps, on each case, the kinds of its unresolved flags
// (casework.Case.Flags). Every method returns the sentinels documented on it, or another error when
// the database fails.
type Store interface {
	// CreateFlag stores a new flag and adds its kind to the case's unresolved kinds; ErrExists when
	// its id is taken.
	CreateFlag(ctx context.Context, f Flag) error
	// Flag returns a flag by id, or ErrNotFound.
	Flag(ctx context.Context, id string) (Flag, error)
	// ListFlags returns the flags of a case, by time raised then id.
	ListFlags(ctx context.Context, caseID string) ([]Flag, error)
	// ResolveFlag stores f's resolution when the stored flag is at version f.Version-1, and
	// recomputes the case's unresolved kinds; ErrStale when it is not, ErrNotFound when there is none.
	ResolveFlag(ctx context.Context, f Flag) error
}

// Cases checks access to cases (*casework.Service satisfies it).
type Cases interface {
	// CaseAccess reads case caseID and checks that p may see and change it, recording a refusal as
	// action; see casework.Service.CaseAccess for its errors.
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// Audit actions (resource type "case_flag", the flag's id; a refused case access is recorded on the
// case by Cases).
const (
	ActionRaise   = "case_flag.raise"
	ActionList    = "case_flag.list"
	ActionResolve = "case_flag.resolve"
	resourceFlag  = "case_flag"
)

// Store sentinels.
var (
	// ErrNotFound is returned by the Store for a flag that does not exist.
	ErrNotFound = errors.New("caseflag: not found")
	// ErrExists is returned by Store.CreateFlag when the id is taken.
	ErrExists = errors.New("caseflag: already exists")
	// ErrStale is returned by Store.ResolveFlag when the stored version is not the expected one.
	ErrStale = errors.New("caseflag: stale version")
)

// StaleError carries the current flag when a write named an outdated version; the Service returns it
// wrapped in a Conflict *apperr.Error (version_conflict). It unwraps to ErrStale.
type StaleError struct {
	Current Flag
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("caseflag: flag %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errFlagNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "flag_not_found", MessageID: "ErrFlagNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errFlagIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "flag_id_conflict", MessageID: "ErrFlagIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errFlagStale(cur Flag) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrFlagVersionConflict",
		Data: map[string]any{"Version": cur.Version}, Err: &StaleError{Current: cur}}
}

func errFlagResolved(id string) error {
	return apperr.New(apperr.Conflict, "flag_resolved", "ErrFlagResolved", map[string]any{"ID": id})
}
