package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Every case has its own data key (AES-256-GCM, package fieldcrypt's DataKey): the encrypted fields of
// the case, of its runs, interviews (sessions and logs), evidence items and custody events are
// encrypted under it ("enc:d1:" tokens). The key itself is stored only wrapped by the key ring, in
// case_keys: {_id: case id, wrapped: ring token bound to "case_key:<case id>", created_at,
// destroyed_at}. Erasing a case destroys its key (wrapped becomes "", destroyed_at is set): every
// value of the case is then unrecoverable, by anyone, with any key ring. Values written before case
// keys existed ("enc:v1:" tokens under the ring) are still read, and are re-encrypted under the case
// key by the schema migration to version 2 (migrateToCaseKeys).
//
// Unwrapped keys are kept in memory (at most caseKeyCacheSize, each for caseKeyCacheTTL), so the
// read path costs one map lookup; a destroyed key is remembered for good. Another instance that
// holds a key in memory keeps using it for at most caseKeyCacheTTL after the erasure.
const caseKeysCollection = "case_keys"

const (
	caseKeyCacheSize = 10000
	caseKeyCacheTTL  = 30 * time.Second
)

type caseKeyDoc struct {
	ID          string     `bson:"_id"`
	Wrapped     string     `bson:"wrapped"`
	CreatedAt   time.Time  `bson:"created_at"`
	DestroyedAt *time.Time `bson:"destroyed_at"`
}

// CaseKeys finds, creates and destroys the data keys of cases. It is safe for concurrent use.
type CaseKeys struct {
	db   *DB
	ring *fieldcrypt.KeyRing
	mu   sync.Mutex
	keys map[string]cachedCaseKey
}

type cachedCaseKey struct {
	key       *fieldcrypt.DataKey // nil when destroyed or none
	destroyed bool
	at        time.Time
}

// CaseKeys returns the case key keeper for ring (one per ring and database, shared by the stores so
// they share its memory).
func (d *DB) CaseKeys(ring *fieldcrypt.KeyRing) *CaseKeys {
	d.caseKeysMu.Lock()
	defer d.caseKeysMu.Unlock()
	if d.caseKeys == nil {
		d.caseKeys = map[*fieldcrypt.KeyRing]*CaseKeys{}
	}
	ck, ok := d.caseKeys[ring]
	if !ok {
		ck = &CaseKeys{db: d, ring: ring, keys: map[string]cachedCaseKey{}}
		d.caseKeys[ring] = ck
	}
	return ck
}

func (k *CaseKeys) coll() *mongo.Collection { return k.db.db.Collection(caseKeysCollection) }

func caseKeyAAD(caseID string) string { return "case_key:" + caseID }

// errCaseErased is the error of a write into a case whose key was destroyed.
func errCaseErased(caseID string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "case_erased", MessageID: "ErrCaseErased",
		Data: map[string]any{"ID": caseID}, Err: fieldcrypt.ErrDataKeyDestroyed}
}

// key returns the case's data key, creating it when create is set and the case has none. destroyed
// reports a key destroyed by an erasure (key is then nil); without create, a case with no key gives
// nil, false. It returns an Unavailable *apperr.Error when the database fails, or an error when the
// wrapped key does not unwrap with the ring.
func (k *CaseKeys) key(ctx context.Context, caseID string, create bool) (*fieldcrypt.DataKey, bool, error) {
	now := time.Now()
	k.mu.Lock()
	c, ok := k.keys[caseID]
	k.mu.Unlock()
	if ok && (c.destroyed || now.Sub(c.at) < caseKeyCacheTTL) {
		return c.key, c.destroyed, nil
	}
	var d caseKeyDoc
	err := k.coll().FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments) && !create:
		return nil, false, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		if d, err = k.create(ctx, caseID); err != nil {
			return nil, false, err
		}
	case err != nil:
		return nil, false, unavailable("reading the key of case %s: %w", caseID, err)
	}
	c = cachedCaseKey{destroyed: d.DestroyedAt != nil, at: now}
	if !c.destroyed {
		if c.key, err = k.ring.UnwrapDataKey(d.Wrapped, caseKeyAAD(caseID)); err != nil {
			return nil, false, fmt.Errorf("unwrapping the key of case %s: %w", caseID, err)
		}
	}
	k.remember(caseID, c)
	return c.key, c.destroyed, nil
}

// create stores a new wrapped key for the case, or reads the one another writer stored first.
func (k *CaseKeys) create(ctx context.Context, caseID string) (caseKeyDoc, error) {
	material, err := fieldcrypt.NewDataKeyMaterial()
	if err != nil {
		return caseKeyDoc{}, err
	}
	defer clear(material)
	wrapped, err := k.ring.WrapDataKey(material, caseKeyAAD(caseID))
	if err != nil {
		return caseKeyDoc{}, err
	}
	d := caseKeyDoc{ID: caseID, Wrapped: wrapped, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	_, err = k.coll().InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		err = k.coll().FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&d)
	}
	if err != nil {
		return caseKeyDoc{}, unavailable("storing the key of case %s: %w", caseID, err)
	}
	return d, nil
}

// remember caches c, dropping arbitrary entries when the cache is full.
func (k *CaseKeys) remember(caseID string, c cachedCaseKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) >= caseKeyCacheSize {
		for id := range k.keys { // map order is random: drops about a tenth, chosen at random
			delete(k.keys, id)
			if len(k.keys) < caseKeyCacheSize*9/10 {
				break
			}
		}
	}
	k.keys[caseID] = c
}

// Destroy destroys the data key of a case for good (idempotent): its wrapped copy is removed and
// destroyed_at set, here and in this process's memory. It returns an Unavailable *apperr.Error when
// the database fails.
func (k *CaseKeys) Destroy(ctx context.Context, caseID string, at time.Time) error {
	_, err := k.coll().UpdateOne(ctx, bson.D{{Key: "_id", Value: caseID}, {Key: "destroyed_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "wrapped", Value: ""}, {Key: "destroyed_at", Value: at.UTC().Truncate(time.Millisecond)}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "created_at", Value: at.UTC().Truncate(time.Millisecond)}}}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		err = nil // destroyed already: the filter did not match and the upsert met the existing _id
	}
	if err != nil {
		return unavailable("destroying the key of case %s: %w", caseID, err)
	}
	k.remember(caseID, cachedCaseKey{destroyed: true, at: at})
	return nil
}

// Rewrap re-encrypts every stored case key that is not under the ring's active key (after a key ring
// rotation), and returns how many it rewrapped. It is idempotent. It returns an error when a key does
// not unwrap with the ring, or an Unavailable *apperr.Error when the database fails.
func (k *CaseKeys) Rewrap(ctx context.Context) (int, error) {
	cur, err := k.coll().Find(ctx, bson.D{{Key: "wrapped", Value: bson.D{{Key: "$ne", Value: ""}}}})
	if err != nil {
		return 0, unavailable("listing case keys: %w", err)
	}
	var docs []caseKeyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, unavailable("listing case keys: %w", err)
	}
	n := 0
	for _, d := range docs {
		if d.Wrapped == "" || !k.ring.NeedsRotation(d.Wrapped) {
			continue
		}
		re, err := k.ring.Reencrypt(d.Wrapped, caseKeyAAD(d.ID))
		if err != nil {
			return n, fmt.Errorf("rewrapping the key of case %s: %w", d.ID, err)
		}
		if _, err := k.coll().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "wrapped", Value: d.Wrapped}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "wrapped", Value: re}}}}); err != nil {
			return n, unavailable("rewrapping the key of case %s: %w", d.ID, err)
		}
		n++
	}
	return n, nil
}

// RawCaseKeysCollection returns the case_keys collection itself. It is for tests and verification
// tooling only; the service never uses it.
func (k *CaseKeys) RawCaseKeysCollection() *mongo.Collection { return k.coll() }

// keyScope is what a document conversion needs to encrypt and decrypt: the request's context and the
// case key keeper.
type keyScope struct {
	ctx context.Context
	ck  *CaseKeys
	// migrate, when set, collects re-encryptions of ring tokens under the case key (see
	// migrateToCaseKeys) instead of decrypting normally.
	migrate map[string]string
}

func (k *CaseKeys) in(ctx context.Context) keyScope { return keyScope{ctx: ctx, ck: k} }

// sealing returns the cipher that encrypts the fields of case caseID (creating its key if needed).
func (s keyScope) sealing(caseID string) *caseworkCipher {
	key, destroyed, err := s.ck.key(s.ctx, caseID, true)
	switch {
	case err != nil:
		return &caseworkCipher{err: err}
	case destroyed:
		return &caseworkCipher{err: errCaseErased(caseID)}
	}
	return &caseworkCipher{c: caseCipher{ring: s.ck.ring, key: key}}
}

// opening returns the cipher that decrypts the fields of case caseID: under its key, or under the ring
// for values written before case keys; every value of an erased case reads as "" (and erased is set).
func (s keyScope) opening(caseID string) *caseworkCipher {
	key, destroyed, err := s.ck.key(s.ctx, caseID, s.migrate != nil)
	switch {
	case err != nil:
		return &caseworkCipher{err: err}
	case destroyed:
		return &caseworkCipher{c: caseCipher{destroyed: true}, erased: true}
	case s.migrate != nil:
		return &caseworkCipher{c: migratingCipher{ring: s.ck.ring, key: key, moved: s.migrate}}
	}
	return &caseworkCipher{c: caseCipher{ring: s.ck.ring, key: key}}
}

// fieldCipher encrypts and decrypts one field value bound to its aad.
type fieldCipher interface {
	Encrypt(plaintext, aad string) (string, error)
	Decrypt(token, aad string) (string, error)
}

// caseCipher encrypts under a case's data key and decrypts its tokens, and the ring's tokens written
// before case keys existed. A destroyed key decrypts everything to "" and encrypts nothing.
type caseCipher struct {
	ring      *fieldcrypt.KeyRing
	key       *fieldcrypt.DataKey
	destroyed bool
}

func (c caseCipher) Encrypt(plaintext, aad string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if c.destroyed || c.key == nil {
		return "", fieldcrypt.ErrDataKeyDestroyed
	}
	return c.key.Encrypt(plaintext, aad)
}

func (c caseCipher) Decrypt(token, aad string) (string, error) {
	switch {
	case token == "" || c.destroyed:
		return "", nil
	case fieldcrypt.IsDataKeyToken(token) && c.key == nil:
		return "", fmt.Errorf("%w: the case has no key", fieldcrypt.ErrUndecryptable)
	case fieldcrypt.IsDataKeyToken(token):
		return c.key.Decrypt(token, aad)
	}
	return c.ring.Decrypt(token, aad)
}

// migratingCipher decrypts ring tokens and records, in moved, the same value encrypted under the case
// key with the same aad; case-key tokens are left as they are.
type migratingCipher struct {
	ring  *fieldcrypt.KeyRing
	key   *fieldcrypt.DataKey
	moved map[string]string
}

func (c migratingCipher) Encrypt(string, string) (string, error) {
	return "", errors.New("mongodb: the migrating cipher only reads")
}

func (c migratingCipher) Decrypt(token, aad string) (string, error) {
	if token == "" || !fieldcrypt.IsRingToken(token) {
		return "", nil
	}
	plain, err := c.ring.Decrypt(token, aad)
	if err != nil {
		return "", err
	}
	re, err := c.key.Encrypt(plain, aad)
	if err != nil {
		return "", err
	}
	c.moved[token] = re
	return plain, nil
}
