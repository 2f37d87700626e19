package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/idempotency"
)

const idempotencyCollection = "idempotency_keys"

// idempotencyDoc is a claimed key; _id is the scoped key's hash. The body is encrypted (it may hold
// case data or tokens), bound to "idempotency:<_id>".
type idempotencyDoc struct {
	ID          string    `bson:"_id"`
	Fingerprint string    `bson:"fingerprint"`
	Done        bool      `bson:"done"`
	Status      int       `bson:"status"`
	ContentType string    `bson:"content_type"`
	Language    string    `bson:"language"`
	Body        string    `bson:"body"`
	CreatedAt   time.Time `bson:"created_at"`
	ExpiresAt   time.Time `bson:"expires_at"`
}

// IdempotencyStore implements idempotency.Store.
type IdempotencyStore struct {
	db   *DB
	keys *fieldcrypt.KeyRing
}

// Idempotency returns the idempotency key store, encrypting stored responses with keys.
func (d *DB) Idempotency(keys *fieldcrypt.KeyRing) *IdempotencyStore {
	return &IdempotencyStore{db: d, keys: keys}
}

func (s *IdempotencyStore) coll() *mongo.Collection { return s.db.db.Collection(idempotencyCollection) }

func idempotencyAAD(id string) string { return "idempotency:" + id }

// Claim inserts a pending entry (atomic on the unique _id). It returns the holding entry when the
// key is taken, an error when a stored body cannot be decrypted, or the driver's error.
func (s *IdempotencyStore) Claim(ctx context.Context, e idempotency.Entry) (idempotency.Entry, bool, error) {
	for range 2 {
		_, err := s.coll().InsertOne(ctx, idempotencyDoc{ID: e.ID, Fingerprint: e.Fingerprint, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt})
		if err == nil {
			return e, true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return idempotency.Entry{}, false, unavailable("claiming an idempotency key: %w", err)
		}
		var d idempotencyDoc
		err = s.coll().FindOne(ctx, bson.D{{Key: "_id", Value: e.ID}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // released meanwhile
		}
		if err != nil {
			return idempotency.Entry{}, false, unavailable("reading an idempotency key: %w", err)
		}
		if d.ExpiresAt.Before(e.CreatedAt) { // expired, not purged yet: start over
			if err := s.deleteIf(ctx, e.ID, bson.D{{Key: "expires_at", Value: d.ExpiresAt}}); err != nil {
				return idempotency.Entry{}, false, unavailable("replacing an idempotency key: %w", err)
			}
			continue
		}
		held := idempotency.Entry{ID: d.ID, Fingerprint: d.Fingerprint, Done: d.Done, Status: d.Status, ContentType: d.ContentType,
			Language: d.Language, CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC()}
		if d.Done {
			body, err := s.keys.Decrypt(d.Body, idempotencyAAD(d.ID))
			if err != nil {
				return idempotency.Entry{}, false, fmt.Errorf("decrypting a stored response: %w", err)
			}
			held.Body = []byte(body)
		}
		return held, false, nil
	}
	return idempotency.Entry{}, false, idempotency.ErrInProgress
}

// Complete stores the response of a claimed key. It returns an error when the body cannot be
// encrypted, or the driver's error.
func (s *IdempotencyStore) Complete(ctx context.Context, e idempotency.Entry) error {
	id := e.ID
	tok, err := s.keys.Encrypt(string(e.Body), idempotencyAAD(id))
	if err != nil {
		return fmt.Errorf("encrypting a stored response: %w", err)
	}
	defer s.db.locks.document(idempotencyCollection, id)()
	_, err = s.coll().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "done", Value: true}, {Key: "status", Value: e.Status}, {Key: "content_type", Value: e.ContentType},
		{Key: "language", Value: e.Language}, {Key: "body", Value: tok}}}})
	if err != nil {
		return unavailable("storing a response: %w", err)
	}
	return nil
}

// Release deletes a pending claim. It returns the driver's error.
func (s *IdempotencyStore) Release(ctx context.Context, id string) error {
	if err := s.deleteIf(ctx, id, bson.D{{Key: "done", Value: false}}); err != nil {
		return unavailable("releasing an idempotency key: %w", err)
	}
	return nil
}

// deleteIf deletes entry id when it matches cond, under the entry's lock (Complete takes it too), by
// _id on the embedded database (DB.deleteByID: FerretDB would decode every entry kept for the
// retention period, on every refused or throttled request that carried a key). It returns the
// driver's or the tables' error.
func (s *IdempotencyStore) deleteIf(ctx context.Context, id string, cond bson.D) error {
	defer s.db.locks.document(idempotencyCollection, id)()
	_, err := s.db.deleteByID(ctx, s.coll(), id, cond)
	return err
}

// Purge deletes entries that expired before now. It returns the driver's error.
func (s *IdempotencyStore) Purge(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.coll().DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return 0, unavailable("purging idempotency keys: %w", err)
	}
	return res.DeletedCount, nil
}

var _ idempotency.Store = (*IdempotencyStore)(nil)
