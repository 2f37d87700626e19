package protocol

import (
	"context"
	"errors"
)

// ErrVersionExists is returned by Store.InsertVersion when that version number is already taken
// (another instance published it first).
var ErrVersionExists = errors.New("protocol version already exists")

// ErrNoVersion is returned by Store.Version when the protocol has no such version.
var ErrNoVersion = errors.New("protocol version not found")

// Store persists published protocol versions. Versions are immutable once inserted.
type Store interface {
	// LatestVersions returns the latest published version of every protocol.
	LatestVersions(ctx context.Context) ([]Version, error)
	// Versions returns every published version of a protocol, oldest first, without documents.
	Versions(ctx context.Context, protocolID string) ([]Version, error)
	// Version returns one version with its document, or ErrNoVersion.
	Version(ctx context.Context, protocolID string, number int) (Version, error)
	// InsertVersion stores a new version and makes it the latest; ErrVersionExists when the number is taken.
	InsertVersion(ctx context.Context, v Version) error
}
