package consent

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Store persists consents. Every method returns the sentinels documented on it, or another error
// (wrapping the driver's) when the database fails. Access control is the Service's job.
type Store interface {
	// CreateConsent stores a new consent; ErrExists when its id is taken.
	CreateConsent(ctx context.Context, c Consent) error
	// Consent returns a consent by id (any case), or ErrNotFound.
	Consent(ctx context.Context, id string) (Consent, error)
	// ListConsents returns every consent of a case, oldest first (by creation time, then id).
	ListConsents(ctx context.Context, caseID string) ([]Consent, error)
	// WithdrawConsent stores c.Withdrawal and c.Version on consent c.ID when its stored version is
	// c.Version-1 and it is not withdrawn; ErrStale otherwise, ErrNotFound when there is no such consent.
	WithdrawConsent(ctx context.Context, c Consent) error
}

// CaseAccess reads a case for a consent operation and checks the caller's access to it
// (*casework.Service does): a NotFound error for a case the caller may not see.
type CaseAccess interface {
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// Directory tells whether an organisation is in the deployment's directory (*identity.Service does).
type Directory interface {
	// Organisation returns a directory entry, or an error wrapping identity.ErrNotFound.
	Organisation(ctx context.Context, id string) (identity.Organisation, error)
}

// Audit actions and resource type.
const (
	ActionCreate   = "consent.create"
	ActionList     = "consent.list"
	ActionWithdraw = "consent.withdraw"
	Resource       = "consent"
)
