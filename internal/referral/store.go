package referral

import (
	"context"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Store persists referrals. Every method returns the sentinels documented on it, or another error
// (wrapping the driver's) when the database fails. Access control is the Service's job.
type Store interface {
	// CreateReferral stores a new referral; ErrExists when its id is taken.
	CreateReferral(ctx context.Context, r Referral) error
	// Referral returns a referral by id, or ErrNotFound.
	Referral(ctx context.Context, id string) (Referral, error)
	// ListByCase returns the referrals sent from a case, by id.
	ListByCase(ctx context.Context, caseID string) ([]Referral, error)
	// ListReceived returns up to limit referrals sent to organisation orgID (status "": any) with
	// ids after afterID, by id.
	ListReceived(ctx context.Context, orgID string, status Status, afterID string, limit int) ([]Referral, error)
	// UpdateReferral replaces the mutable fields of referral r.ID (status, receiving case, reason,
	// outcome, receiver note, history, update time, version) when its stored version is r.Version-1;
	// ErrStale when it is not, ErrNotFound when there is no such referral.
	UpdateReferral(ctx context.Context, r Referral) error
	// OpenReferral reports whether a referral sent from or received into case caseID is open.
	OpenReferral(ctx context.Context, caseID string) (bool, error)
}

// Cases is what the Service needs of casework: the caller's access to a case (for the sender), a
// case read without a caller (the sender's case, when the receiver accepts), creating the
// receiver's case as the accepting user, and closing a transferred case (*casework.Service does).
type Cases interface {
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
	Create(ctx context.Context, p identity.Principal, nc casework.NewCase) (casework.Case, bool, error)
	CaseByID(ctx context.Context, id string) (casework.Case, error)
	CloseTransferred(ctx context.Context, caseID, referralID string, at time.Time) error
}

// Consents finds the consent that covers a sharing and reads one (*consent.Service does).
type Consents interface {
	Covering(ctx context.Context, caseID, orgID string, parts []consent.Part, at time.Time) (consent.Consent, bool, error)
	Get(ctx context.Context, id string) (consent.Consent, error)
}

// Interviews copies the approved interview sessions of a case into the receiver's case when a
// referral shares the interviews part (*interview.Service does). ShareApproved returns how many it
// copied; a retry duplicates nothing.
type Interviews interface {
	ShareApproved(ctx context.Context, p identity.Principal, fromCaseID string, to casework.Case, referralID string) (int, error)
}

// Directory reads the organisation directory (*identity.Service does).
type Directory interface {
	Organisation(ctx context.Context, id string) (identity.Organisation, error)
}

// Audit actions and resource type.
const (
	ActionCreate   = "referral.create"
	ActionReceive  = "referral.receive" // the receiver's log: a referral arrived
	ActionRead     = "referral.read"
	ActionList     = "referral.list"
	ActionAccept   = "referral.accept"
	ActionDecline  = "referral.decline"
	ActionStart    = "referral.start"
	ActionComplete = "referral.complete"
	ActionCancel   = "referral.cancel"
	ActionWithdraw = "referral.withdraw"
	Resource       = "referral"
)
