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

const (
	identityOrgsCollection     = "organisations"
	identityUsersCollection    = "users"
	identityDevicesCollection  = "devices"
	identitySessionsCollection = "sessions"
	identityThrottleCollection = "login_throttle"
)

// identityOrgDoc is an organisation; _id is its id.
type identityOrgDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	CreatedAt time.Time `bson:"created_at"`
	// The directory fields (absent from organisations recorded before the directory was editable:
	// no service kinds, no contact, updated when created, version 1).
	ServiceKinds []string  `bson:"service_kinds,omitempty"`
	Contact      string    `bson:"contact,omitempty"`
	UpdatedAt    time.Time `bson:"updated_at,omitempty"`
	Version      int64     `bson:"version,omitempty"`
}

// identityUserDoc is a user; _id is the user id, username is unique (lower case).
type identityUserDoc struct {
	ID           string   `bson:"_id"`
	OrgID        string   `bson:"org_id"`
	Username     string   `bson:"username"`
	DisplayName  string   `bson:"display_name"`
	Roles        []string `bson:"roles"`
	Disabled     bool     `bson:"disabled"`
	PasswordHash string   `bson:"password_hash"`
	// MustChange and Locale are absent from users stored before they existed (false and "").
	MustChange bool      `bson:"password_change_required,omitempty"`
	Locale     string    `bson:"locale,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
	Version    int64     `bson:"version"`
}

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

// IdentityStore implements identity.Store.
type IdentityStore struct{ db *DB }

// Identity returns the identity store.
func (d *DB) Identity() *IdentityStore { return &IdentityStore{db: d} }

// ensureIdentityIndexes creates the identity collections' indexes: the unique username, and the
// organisation-led indexes of user, device and session lists. It is idempotent and returns the first
// error the server gives.
func (d *DB) ensureIdentityIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		identityUsersCollection: {
			{Keys: bson.D{{Key: "username", Value: 1}}, Options: options.Index().SetName("username").SetUnique(true)},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_id")},
		},
		identityDevicesCollection: {
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "user_id", Value: 1}}, Options: options.Index().SetName("org_user")},
		},
		identitySessionsCollection: {
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "device_id", Value: 1}}, Options: options.Index().SetName("org_device")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "user_id", Value: 1}}, Options: options.Index().SetName("org_user")},
		},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

func (s *IdentityStore) coll(name string) *mongo.Collection { return s.db.db.Collection(name) }

func identityByID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func identityDeviceKey(orgID, deviceID string) string { return orgID + ":" + deviceID }

func toIdentityUserDoc(u identity.User) identityUserDoc {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	return identityUserDoc{ID: u.ID, OrgID: u.OrgID, Username: u.Username, DisplayName: u.DisplayName, Roles: roles,
		Disabled: u.Disabled, PasswordHash: u.PasswordHash, MustChange: u.PasswordChangeRequired, Locale: u.Locale,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
}

func fromIdentityUserDoc(d identityUserDoc) identity.User {
	roles := make([]identity.Role, len(d.Roles))
	for i, r := range d.Roles {
		roles[i] = identity.Role(r)
	}
	return identity.User{ID: d.ID, OrgID: d.OrgID, Username: d.Username, DisplayName: d.DisplayName, Roles: roles,
		Disabled: d.Disabled, PasswordHash: d.PasswordHash, PasswordChangeRequired: d.MustChange, Locale: d.Locale,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version}
}

func fromIdentityDeviceDoc(d identityDeviceDoc) identity.Device {
	return identity.Device{ID: d.DeviceID, OrgID: d.OrgID, UserID: d.UserID, Name: d.Name,
		CreatedAt: d.CreatedAt.UTC(), LastSeenAt: d.LastSeenAt.UTC(), RevokedAt: identityUTCPtr(d.RevokedAt)}
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

func identityUTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateOrganisation stores a new organisation. It returns identity.ErrExists when the id is taken,
// or the driver's error.
func (s *IdentityStore) CreateOrganisation(ctx context.Context, o identity.Organisation) error {
	return insertNew(ctx, s.coll(identityOrgsCollection), toIdentityOrgDoc(o), identity.ErrExists, "organisation "+o.ID)
}

// Organisation returns an organisation: identity.ErrNotFound when there is none, or the driver's error.
func (s *IdentityStore) Organisation(ctx context.Context, id string) (identity.Organisation, error) {
	var d identityOrgDoc
	if err := findByID(ctx, s.coll(identityOrgsCollection), id, &d, identity.ErrNotFound, "organisation "+id); err != nil {
		return identity.Organisation{}, err
	}
	return fromIdentityOrgDoc(d), nil
}

// ListOrganisations returns up to limit organisations with ids after afterID, by id, or the
// driver's error.
func (s *IdentityStore) ListOrganisations(ctx context.Context, afterID string, limit int) ([]identity.Organisation, error) {
	filter := bson.D{}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[identityOrgDoc](ctx, s.db, s.coll(identityOrgsCollection), filter, opts, "listing organisations: %w")
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, fromIdentityOrgDoc), nil
}

// fromIdentityOrgDoc converts a stored organisation.
func fromIdentityOrgDoc(d identityOrgDoc) identity.Organisation {
	o := identity.Organisation{ID: d.ID, Name: d.Name, Contact: d.Contact, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version}
	for _, k := range d.ServiceKinds {
		o.ServiceKinds = append(o.ServiceKinds, identity.ServiceKind(k))
	}
	if d.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.Version == 0 {
		o.Version = 1
	}
	return o
}

// toIdentityOrgDoc converts an organisation to its document.
func toIdentityOrgDoc(o identity.Organisation) identityOrgDoc {
	d := identityOrgDoc{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, Contact: o.Contact, UpdatedAt: o.UpdatedAt, Version: o.Version}
	for _, k := range o.ServiceKinds {
		d.ServiceKinds = append(d.ServiceKinds, string(k))
	}
	return d
}

// UpdateOrganisation replaces the directory fields of organisation o.ID when its stored version is
// o.Version-1 (an organisation without a stored version is at version 1). It returns
// identity.ErrStale when the version differs, identity.ErrNotFound when there is no such
// organisation, or the driver's error. Writes to one organisation are serialized in the process
// (the embedded database's updates are not atomic).
func (s *IdentityStore) UpdateOrganisation(ctx context.Context, o identity.Organisation) error {
	defer s.db.locks.document(identityOrgsCollection, o.ID)()
	var old identityOrgDoc
	if err := findByID(ctx, s.coll(identityOrgsCollection), o.ID, &old, identity.ErrNotFound, "organisation "+o.ID); err != nil {
		return err
	}
	if fromIdentityOrgDoc(old).Version != o.Version-1 {
		return identity.ErrStale
	}
	d := toIdentityOrgDoc(o)
	kinds := d.ServiceKinds
	if kinds == nil {
		kinds = []string{}
	}
	filter := bson.D{{Key: "_id", Value: o.ID}}
	if old.Version != 0 { // other instances: the write applies only at the version read
		filter = append(filter, bson.E{Key: "version", Value: old.Version})
	}
	res, err := s.coll(identityOrgsCollection).UpdateOne(ctx, filter,
		bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: d.Name}, {Key: "service_kinds", Value: kinds},
			{Key: "contact", Value: d.Contact}, {Key: "updated_at", Value: d.UpdatedAt}, {Key: "version", Value: d.Version}}}})
	if err != nil {
		return unavailable("updating organisation %s: %w", o.ID, err)
	}
	if res.MatchedCount == 0 {
		return identity.ErrStale
	}
	return nil
}

// CountUsers returns the number of users in the deployment, or the driver's error.
func (s *IdentityStore) CountUsers(ctx context.Context) (int64, error) {
	n, err := s.coll(identityUsersCollection).CountDocuments(ctx, bson.D{})
	if err != nil {
		return 0, unavailable("counting users: %w", err)
	}
	return n, nil
}

// CreateUser stores a new user. It returns identity.ErrUsernameTaken when the username (or, never in
// practice, the UUID) is taken, or the driver's error.
func (s *IdentityStore) CreateUser(ctx context.Context, u identity.User) error {
	doc := toIdentityUserDoc(u)
	doc.Username = identity.NormalizeUsername(doc.Username)
	return insertNew(ctx, s.coll(identityUsersCollection), doc, identity.ErrUsernameTaken, "user "+u.ID)
}

// UserByID returns a user of organisation orgID: identity.ErrNotFound when there is none or it
// belongs to another organisation, or the driver's error.
func (s *IdentityStore) UserByID(ctx context.Context, orgID, id string) (identity.User, error) {
	u, err := s.findUser(ctx, identityByID(id))
	if err == nil && u.OrgID != orgID {
		return identity.User{}, identity.ErrNotFound
	}
	return u, err
}

// UserByUsername returns the user with that username (compared lower-cased): identity.ErrNotFound
// when there is none, or the driver's error.
func (s *IdentityStore) UserByUsername(ctx context.Context, username string) (identity.User, error) {
	return s.findUser(ctx, bson.D{{Key: "username", Value: identity.NormalizeUsername(username)}})
}

func (s *IdentityStore) findUser(ctx context.Context, filter bson.D) (identity.User, error) {
	var d identityUserDoc
	err := s.coll(identityUsersCollection).FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return identity.User{}, identity.ErrNotFound
	}
	if err != nil {
		return identity.User{}, unavailable("reading a user: %w", err)
	}
	return fromIdentityUserDoc(d), nil
}

// ListUsers returns up to limit users of organisation orgID with ids after afterID, by id, or the
// driver's error.
func (s *IdentityStore) ListUsers(ctx context.Context, orgID, afterID string, limit int) ([]identity.User, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[identityUserDoc](ctx, s.db, s.coll(identityUsersCollection), filter, opts, "listing users of %s: %w", orgID)
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, fromIdentityUserDoc), nil
}

// UpdateUser stores display name, roles, disabled flag, password hash, password-change flag, locale,
// updated time and version of
// u when the stored version is u.Version-1. It returns identity.ErrStale when the version differs,
// identity.ErrNotFound when the user does not exist in u.OrgID, or the driver's error.
func (s *IdentityStore) UpdateUser(ctx context.Context, u identity.User) error {
	doc := toIdentityUserDoc(u)
	unlock := s.db.locks.document(identityUsersCollection, u.ID)
	res, err := s.coll(identityUsersCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: u.ID}, {Key: "org_id", Value: u.OrgID}, {Key: "version", Value: u.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "display_name", Value: doc.DisplayName}, {Key: "roles", Value: doc.Roles}, {Key: "disabled", Value: doc.Disabled},
			{Key: "password_hash", Value: doc.PasswordHash}, {Key: "updated_at", Value: doc.UpdatedAt}, {Key: "version", Value: doc.Version},
			{Key: "password_change_required", Value: doc.MustChange}, {Key: "locale", Value: doc.Locale},
		}}})
	unlock()
	if err != nil {
		return unavailable("updating user %s: %w", u.ID, err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.UserByID(ctx, u.OrgID, u.ID); err != nil {
			return err
		}
		return identity.ErrStale
	}
	return nil
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
	res, err := s.coll(identityDevicesCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: docID}, {Key: "revoked_at", Value: nil}},
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
	res, err := s.coll(identitySessionsCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "token_hash", Value: oldHash}, {Key: "revoked_at", Value: nil}},
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
	_, err := s.coll(identitySessionsCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}}, identityRevokeAt(at))
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

var _ identity.Store = (*IdentityStore)(nil)

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
