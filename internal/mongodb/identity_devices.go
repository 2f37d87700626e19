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

// The devices users sign in from: recorded at sign-in, listed, revoked.

// identityDeviceDoc is a device; _id is "<org id>:<device id>" because apps choose device ids.
// revoked_at is always present (null until revoked) so filters can match it with null.
type identityDeviceDoc struct {
	ID         string     `bson:"_id"`
	DeviceID   string     `bson:"device_id"`
	OrgID      string     `bson:"org_id"`
	UserID     string     `bson:"user_id"`
	Name       string     `bson:"name"`
	CreatedAt  time.Time  `bson:"created_at"`
	LastSeenAt time.Time  `bson:"last_seen_at"`
	RevokedAt  *time.Time `bson:"revoked_at"`
}

func identityDeviceKey(orgID, deviceID string) string { return orgID + ":" + deviceID }

func fromIdentityDeviceDoc(d identityDeviceDoc) identity.Device {
	return identity.Device{ID: d.DeviceID, OrgID: d.OrgID, UserID: d.UserID, Name: d.Name,
		CreatedAt: d.CreatedAt.UTC(), LastSeenAt: d.LastSeenAt.UTC(), RevokedAt: identityUTCPtr(d.RevokedAt)}
}

// UpsertDevice creates the device, or sets its user, last-seen time and (when d.Name is not empty)
// name; it never touches revoked_at. It returns the device as stored afterwards, or the driver's error.
func (s *IdentityStore) UpsertDevice(ctx context.Context, d identity.Device) (identity.Device, error) {
	id := identityDeviceKey(d.OrgID, d.ID)
	set := bson.D{{Key: "user_id", Value: d.UserID}, {Key: "last_seen_at", Value: d.LastSeenAt}}
	if d.Name != "" {
		set = append(set, bson.E{Key: "name", Value: d.Name})
	}
	coll := s.coll(identityDevicesCollection)
	defer s.db.locks.document(identityDevicesCollection, id)()
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	// Update first, insert when missing, and update again when another request inserted it meanwhile
	// (only operations measured on FerretDB; an upsert would need $setOnInsert for created_at).
	for attempt := 0; attempt < 2; attempt++ {
		var doc identityDeviceDoc
		err := coll.FindOneAndUpdate(ctx, identityByID(id), bson.D{{Key: "$set", Value: set}}, after).Decode(&doc)
		if err == nil {
			return fromIdentityDeviceDoc(doc), nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return identity.Device{}, unavailable("updating device %s: %w", id, err)
		}
		if attempt > 0 {
			break
		}
		doc = identityDeviceDoc{ID: id, DeviceID: d.ID, OrgID: d.OrgID, UserID: d.UserID, Name: d.Name,
			CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt}
		_, err = coll.InsertOne(ctx, doc)
		if err == nil {
			return fromIdentityDeviceDoc(doc), nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return identity.Device{}, unavailable("creating device %s: %w", id, err)
		}
	}
	return identity.Device{}, unavailable("upserting device %s: it keeps disappearing", id)
}

// Device returns a device of organisation orgID: identity.ErrNotFound when there is none, or the
// driver's error.
func (s *IdentityStore) Device(ctx context.Context, orgID, id string) (identity.Device, error) {
	var d identityDeviceDoc
	if err := findByID(ctx, s.coll(identityDevicesCollection), identityDeviceKey(orgID, id), &d, identity.ErrNotFound, "device "+id); err != nil {
		return identity.Device{}, err
	}
	return fromIdentityDeviceDoc(d), nil
}

// ListDevices returns the devices of organisation orgID used by userID ("" = all), by id, or the
// driver's error.
func (s *IdentityStore) ListDevices(ctx context.Context, orgID, userID string) ([]identity.Device, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}}
	if userID != "" {
		filter = append(filter, bson.E{Key: "user_id", Value: userID})
	}
	docs, err := findDocs[identityDeviceDoc](ctx, s.db, s.coll(identityDevicesCollection), filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "listing devices of %s: %w", orgID)
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, fromIdentityDeviceDoc), nil
}

// RevokeDevice marks a device revoked at at unless it already is. It returns identity.ErrNotFound
// when the device does not exist, or the driver's error.
func (s *IdentityStore) RevokeDevice(ctx context.Context, orgID, id string, at time.Time) error {
	docID := identityDeviceKey(orgID, id)
	unlock := s.db.locks.document(identityDevicesCollection, docID)
	res, err := s.db.updateByID(ctx, s.coll(identityDevicesCollection), docID, bson.D{{Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: at}}}})
	unlock()
	if err != nil {
		return unavailable("revoking device %s: %w", docID, err)
	}
	if res.MatchedCount == 0 {
		_, err := s.Device(ctx, orgID, id) // revoked already (nil) or missing (ErrNotFound)
		return err
	}
	return nil
}
