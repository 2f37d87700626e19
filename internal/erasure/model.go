package erasure

import (
	"context"
	"errors"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
)

// Status is the state of an erasure request.
type Status string

// The states of a request: requested (waiting for an administrator), confirmed (the case is
// erased), rejected.
const (
	StatusRequested Status = "requested"
	StatusConfirmed Status = "confirmed"
	StatusRejected  Status = "rejected"
)

// Audit actions, all on resource type "case" (the case's id), except reads of requests.
const (
	ActionRequest = "case.erasure_request"
	ActionConfirm = "case.erasure_confirm"
	ActionReject  = "case.erasure_reject"
	ActionErase   = "case.erase"
	ActionRead    = "erasure.read"
	ActionList    = "erasure.list"
	ActionDue     = "retention.due"
	resourceCase  = "case"
	resourceReq   = "erasure_request"
)

// MaxReasonLen is the longest reason accepted (characters).
const MaxReasonLen = 1000

// ChainSeal is what a custody chain was when its case was erased.
type ChainSeal struct {
	ItemID   string
	Events   int
	LastSeq  int64
	LastHash string
	OK       bool // the chain verified in full (fields and hashes) just before the erasure
}

// Request is a request to erase a case and its decision. Reasons are stored encrypted under the key
// ring (not the case's key: they outlive the case) and must not name the child.
type Request struct {
	ID             string
	OrgID          string
	CaseID         string
	Status         Status
	Reason         string
	RequestedBy    string
	RequestedAt    time.Time
	DecisionReason string
	DecidedBy      string
	DecidedAt      *time.Time
	ErasedAt       *time.Time
	Chains         []ChainSeal // set on confirmation
}

// Policy is the retention policy.
type Policy struct {
	// RetainAfterClose is how long a closed case is kept before it may be erased.
	RetainAfterClose time.Duration
}

// Due is a case the policy allows to erase now.
type Due struct {
	CaseID   string
	ClosedAt time.Time
	DueSince time.Time
	// Pending is the id of a pending erasure request of the case ("" when none).
	Pending string
}

// ErrNotFound is returned by the Store for an unknown request; ErrExists by Store.Create when the
// id is taken; ErrPending by Store.Create when the case already has a pending request; ErrDecided by
// Store.Decide when the request is no longer pending.
var (
	ErrNotFound = errors.New("erasure: not found")
	ErrExists   = errors.New("erasure: exists")
	ErrPending  = errors.New("erasure: a request is pending")
	ErrDecided  = errors.New("erasure: decided")
)

// Store keeps erasure requests.
type Store interface {
	// Create stores a new request: ErrPending when the case has one in StatusRequested.
	Create(ctx context.Context, r Request) error
	// Get returns a request: ErrNotFound when there is none.
	Get(ctx context.Context, id string) (Request, error)
	// Pending returns the pending request of a case, and false when there is none.
	Pending(ctx context.Context, caseID string) (Request, bool, error)
	// List returns an organisation's requests (status "" for all), newest first, at most limit.
	List(ctx context.Context, orgID string, status Status, limit int) ([]Request, error)
	// Decide stores r's decision when the stored request is still requested: ErrDecided otherwise.
	Decide(ctx context.Context, r Request) error
}

// Cases reads cases and lists an organisation's closed cases (casework.Store does).
type Cases interface {
	Case(ctx context.Context, id string) (casework.Case, error)
	ListCases(ctx context.Context, f casework.StoreFilter, afterID string, limit int) ([]casework.Case, error)
}

// Evidence names a case's items under legal hold and verifies its custody chains
// (evidence.Service.HeldItems and CaseChains).
type Evidence interface {
	HeldItems(ctx context.Context, orgID, caseID string) ([]string, error)
	CaseChains(ctx context.Context, orgID, caseID string) (evidence.CaseReport, []string, error)
}

// Eraser destroys a case's data key and clears its clear-text identifying details (idempotent).
type Eraser interface {
	EraseCase(ctx context.Context, orgID, caseID string, at time.Time) error
}

// Referrals says whether a case has an open referral, sent from it or received into it
// (*referral.Service does; WithReferrals wires it, and a service without it assumes none).
type Referrals interface {
	OpenReferral(ctx context.Context, caseID string) (bool, error)
}

type noReferrals struct{}

func (noReferrals) OpenReferral(context.Context, string) (bool, error) { return false, nil }
