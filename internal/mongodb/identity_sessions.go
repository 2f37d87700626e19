package mongodb

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Sign-in sessions (refresh token rotation, revocation) and the sign-in failure counters.

// identitySessionDoc is a refresh-token family; _id is the session id. Only token hashes are stored.
type identitySessionDoc struct {
	ID             string     `bson:"_id"`
	OrgID          string     `bson:"org_id"`
	UserID         string     `bson:"user_id"`
	DeviceID       string     `bson:"device_id"`
	TokenHash      string     `bson:"token_hash"`
	PreviousHashes []string   `bson:"previous_hashes"`
	CreatedAt      time.Time  `bson:"created_at"`
	RefreshedAt    time.Time  `bson:"refreshed_at"`
	ExpiresAt      time.Time  `bson:"expires_at"`
	RevokedAt      *time.Time `bson:"revoked_at"`
	Version        int64      `bson:"version"`
}

// identityThrottleDoc counts consecutive sign-in failures of a key ("user:…" or "addr:…").
type identityThrottleDoc struct {
	ID          string    `bson:"_id"`
	Failures    int       `bson:"failures"`
	LastFailure time.Time `bson:"last_failure"`
}

func toIdentitySessionDoc(s identity.Session) identitySessionDoc {
	prev := s.PreviousHash
	if prev == nil {
		prev = []string{}
	}
	return identitySessionDoc{ID: s.ID, OrgID: s.OrgID, UserID: s.UserID, DeviceID: s.DeviceID, TokenHash: s.TokenHash,
		PreviousHashes: prev, CreatedAt: s.CreatedAt, RefreshedAt: s.RefreshedAt, ExpiresAt: s.ExpiresAt, RevokedAt: s.RevokedAt, Version: s.Version}
}

func fromIdentitySessionDoc(d identitySessionDoc) identity.Session {
	return identity.Session{ID: d.ID, OrgID: d.OrgID, UserID: d.UserID, DeviceID: d.DeviceID, TokenHash: d.TokenHash,
		PreviousHash: d.PreviousHashes, CreatedAt: d.CreatedAt.UTC(), RefreshedAt: d.RefreshedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
		RevokedAt: identityUTCPtr(d.RevokedAt), Version: d.Version}
}

// CreateSession stores a new session. It returns identity.ErrExists when the id is taken, or the
// driver's error.
func (s *IdentityStore) CreateSession(ctx context.Context, sess identity.Session) error {
	return insertNew(ctx, s.coll(identitySessionsCollection), toIdentitySessionDoc(sess), identity.ErrExists, "session "+sess.ID)
}

// Session returns a session: identity.ErrNotFound when there is none, or the driver's error.
func (s *IdentityStore) Session(ctx context.Context, id string) (identity.Session, error) {
	var d identitySessionDoc
	if err := findByID(ctx, s.coll(identitySessionsCollection), id, &d, identity.ErrNotFound, "session "+id); err != nil {
		return identity.Session{}, err
	}
	return fromIdentitySessionDoc(d), nil
}

// RotateSession replaces the current token hash oldHash of an unrevoked session by newHash, keeping
// the last identity.SessionHashHistory old hashes. The history is rewritten whole ($push with $slice
// is silently not trimmed on FerretDB), which is safe because the write is conditional on oldHash.
// It returns identity.ErrStale when the hash is no longer oldHash or the session was revoked,
// identity.ErrNotFound when it does not exist, or the driver's error.
func (s *IdentityStore) RotateSession(ctx context.Context, id, oldHash, newHash string, at time.Time) error {
	defer s.db.locks.document(identitySessionsCollection, id)()
	cur, err := s.Session(ctx, id)
	if err != nil {
		return err
	}
	if cur.TokenHash != oldHash || cur.RevokedAt != nil {
		return identity.ErrStale
	}
	prev := append(cur.PreviousHash, oldHash)
	if len(prev) > identity.SessionHashHistory {
		prev = prev[len(prev)-identity.SessionHashHistory:]
	}
	res, err := s.db.updateByID(ctx, s.coll(identitySessionsCollection), id,
		bson.D{{Key: "token_hash", Value: oldHash}, {Key: "revoked_at", Value: nil}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "token_hash", Value: newHash}, {Key: "previous_hashes", Value: prev}, {Key: "refreshed_at", Value: at}}},
			{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
		})
	if err != nil {
		return unavailable("rotating session %s: %w", id, err)
	}
	if res.MatchedCount == 0 {
		return identity.ErrStale
	}
	return nil
}

// TouchSession sets refreshed_at of an unrevoked session to at; an unknown or revoked session is left
// alone. The filter is the _id alone (the one filter FerretDB looks up by index), under the
// session's lock. It returns the driver's error.
func (s *IdentityStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	defer s.db.locks.document(identitySessionsCollection, id)()
	cur, err := s.Session(ctx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.RevokedAt != nil || !at.After(cur.RefreshedAt) {
		return nil
	}
	if _, err := s.coll(identitySessionsCollection).UpdateOne(ctx, identityByID(id),
		bson.D{{Key: "$set", Value: bson.D{{Key: "refreshed_at", Value: at}}}}); err != nil {
		return unavailable("touching session %s: %w", id, err)
	}
	return nil
}

// RevokeSession marks a session revoked at at unless it already is; an unknown session is ignored.
// It returns the driver's error.
func (s *IdentityStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	defer s.db.locks.document(identitySessionsCollection, id)()
	_, err := s.db.updateByID(ctx, s.coll(identitySessionsCollection), id, bson.D{{Key: "revoked_at", Value: nil}}, identityRevokeAt(at))
	if err != nil {
		return unavailable("revoking session %s: %w", id, err)
	}
	return nil
}

// RevokeDeviceSessions revokes every unrevoked session of a device. It returns the driver's error.
func (s *IdentityStore) RevokeDeviceSessions(ctx context.Context, orgID, deviceID string, at time.Time) error {
	defer s.db.locks.all(identitySessionsCollection)()
	_, err := s.coll(identitySessionsCollection).UpdateMany(ctx,
		bson.D{{Key: "org_id", Value: orgID}, {Key: "device_id", Value: deviceID}, {Key: "revoked_at", Value: nil}}, identityRevokeAt(at))
	if err != nil {
		return unavailable("revoking the sessions of device %s: %w", deviceID, err)
	}
	return nil
}

// RevokeUserSessions revokes every unrevoked session of a user. It returns the driver's error.
func (s *IdentityStore) RevokeUserSessions(ctx context.Context, orgID, userID string, at time.Time) error {
	defer s.db.locks.all(identitySessionsCollection)()
	_, err := s.coll(identitySessionsCollection).UpdateMany(ctx,
		bson.D{{Key: "org_id", Value: orgID}, {Key: "user_id", Value: userID}, {Key: "revoked_at", Value: nil}}, identityRevokeAt(at))
	if err != nil {
		return unavailable("revoking the sessions of user %s: %w", userID, err)
	}
	return nil
}

func identityRevokeAt(at time.Time) bson.D {
	return bson.D{
		{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: at}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
	}
}

// Failure adds one failure to key and records now as its last failure, creating the counter when
// needed (findOneAndUpdate with upsert and $inc). It returns the new count, or the driver's error.
func (s *IdentityStore) Failure(ctx context.Context, key string, now time.Time) (int, error) {
	var d identityThrottleDoc
	defer s.db.locks.document(identityThrottleCollection, key)()
	err := s.coll(identityThrottleCollection).FindOneAndUpdate(ctx, identityByID(key),
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "failures", Value: 1}}},
			{Key: "$set", Value: bson.D{{Key: "last_failure", Value: now}}},
		},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return 0, unavailable("counting a sign-in failure: %w", err)
	}
	return d.Failures, nil
}

// Reset forgets the failures of key. It returns the driver's error.
func (s *IdentityStore) Reset(ctx context.Context, key string) error {
	defer s.db.locks.document(identityThrottleCollection, key)()
	if _, err := s.coll(identityThrottleCollection).DeleteOne(ctx, identityByID(key)); err != nil {
		return unavailable("resetting a sign-in throttle: %w", err)
	}
	return nil
}

// State returns the failure count and last failure time of key (0 and the zero time when it has
// none), or the driver's error.
func (s *IdentityStore) State(ctx context.Context, key string) (int, time.Time, error) {
	var d identityThrottleDoc
	err := s.coll(identityThrottleCollection).FindOne(ctx, identityByID(key)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, unavailable("reading a sign-in throttle: %w", err)
	}
	return d.Failures, d.LastFailure.UTC(), nil
}

// DeleteSessionsExpiredBefore deletes every session whose refresh token expired before t. It returns
// how many it deleted, or the driver's error.
func (s *IdentityStore) DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int64, error) {
	defer s.db.locks.all(identitySessionsCollection)()
	res, err := s.coll(identitySessionsCollection).DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: t}}}})
	if err != nil {
		return 0, unavailable("deleting expired sessions: %w", err)
	}
	return res.DeletedCount, nil
}

// DeleteFailuresBefore deletes every throttle counter whose last failure is before t. It returns how
// many it deleted, or the driver's error.
func (s *IdentityStore) DeleteFailuresBefore(ctx context.Context, t time.Time) (int64, error) {
	defer s.db.locks.all(identityThrottleCollection)()
	res, err := s.coll(identityThrottleCollection).DeleteMany(ctx, bson.D{{Key: "last_failure", Value: bson.D{{Key: "$lt", Value: t}}}})
	if err != nil {
		return 0, unavailable("deleting old sign-in failure counters: %w", err)
	}
	return res.DeletedCount, nil
}
