// Package idempotency keeps the responses of POST requests sent with an Idempotency-Key header, so
// that a retried request (a device that lost the response) gets the first response again and
// changes nothing. A key is scoped to its caller (the signed-in user, or for sign-in requests the
// route) and bound to the request it came with (a fingerprint of method, path and body): the same
// key with another request is refused.
package idempotency

import (
	"context"
	"errors"
	"time"
)

// DefaultRetention is how long a key and its response are kept when the configuration does not
// say (IDEMPOTENCY_RETENTION): long enough for a device that was offline for days to retry.
const DefaultRetention = 7 * 24 * time.Hour

// ErrInProgress is returned by Store.Claim when the key is held by a request still running.
var ErrInProgress = errors.New("idempotency: a request with this key is in progress")

// Entry is a claimed key: Done once its response is stored.
type Entry struct {
	ID          string // the scoped key (a hash: keys never reach the database in clear)
	Fingerprint string // hash of method, path and body
	Done        bool
	Status      int
	ContentType string
	Language    string // Content-Language of the response
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Store keeps idempotency keys. Every method returns an error when the database fails.
type Store interface {
	// Claim takes key e.ID for a request about to run, unless it is taken: then it returns the
	// entry holding it and claimed false. An expired entry is replaced.
	Claim(ctx context.Context, e Entry) (held Entry, claimed bool, err error)
	// Complete stores the response (e.Status, e.ContentType, e.Language, e.Body) of the request that
	// claimed e.ID.
	Complete(ctx context.Context, e Entry) error
	// Release gives up a claim (the request failed in a way worth retrying).
	Release(ctx context.Context, id string) error
	// Purge deletes entries that expired before now and returns how many.
	Purge(ctx context.Context, now time.Time) (int64, error)
}
