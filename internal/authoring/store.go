package authoring

import (
	"context"
	"errors"
)

// Store sentinels; the Service wraps them in *apperr.Error values.
var (
	// ErrNotFound is returned by the Store when a draft does not exist.
	ErrNotFound = errors.New("authoring: not found")
	// ErrExists is returned by Store.CreateDraft and Store.Retire when the id is taken.
	ErrExists = errors.New("authoring: already exists")
	// ErrStale is returned by Store.UpdateDraft when the stored version is not the expected one.
	ErrStale = errors.New("authoring: stale version")
)

// Store persists drafts and retirements, and counts runs. Every method returns the sentinels
// documented on it, or another error (wrapping the driver's) when the database fails.
type Store interface {
	// CreateDraft stores a new draft; ErrExists when its id is taken.
	CreateDraft(ctx context.Context, d Draft) error
	// Draft returns a draft by id, or ErrNotFound.
	Draft(ctx context.Context, id string) (Draft, error)
	// ListDrafts returns up to limit drafts of protocolID ("" for every protocol) with ids after
	// afterID, by id.
	ListDrafts(ctx context.Context, protocolID, afterID string, limit int) ([]Draft, error)
	// UpdateDraft replaces draft d.ID when its stored version is d.Version-1; ErrStale when the
	// version differs, ErrNotFound when it does not exist.
	UpdateDraft(ctx context.Context, d Draft) error
	// Retire records a retirement; ErrExists when the protocol is already retired.
	Retire(ctx context.Context, r Retirement) error
	// Retirement returns the retirement of a protocol, or ErrNotFound.
	Retirement(ctx context.Context, protocolID string) (Retirement, error)
	// CountRuns counts the runs of organisation orgID on each version of protocolID, with the
	// distinct cases they belong to (ids only), by version.
	CountRuns(ctx context.Context, orgID, protocolID string) ([]RunCount, error)
	// OpenCases returns which of caseIDs are open cases of organisation orgID.
	OpenCases(ctx context.Context, orgID string, caseIDs []string) (map[string]bool, error)
}

// Event actions.
const (
	ActionDraftCreate    = "draft.create"
	ActionDraftUpdate    = "draft.update"
	ActionDraftTranslate = "draft.translate"
	ActionDraftImport    = "draft.import"
	ActionDraftSubmit    = "draft.submit"
	ActionDraftApprove   = "draft.approve"
	ActionDraftReturn    = "draft.return"
	ActionDraftPublish   = "draft.publish"
	ActionProtocolRetire = "protocol.retire"
)

// Event resource types.
const (
	ResourceDraft    = "protocol_draft"
	ResourceProtocol = "protocol"
)
