package mongodb

import (
	"context"
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
	var cond bson.D
	if old.Version != 0 { // other instances: the write applies only at the version read
		cond = bson.D{{Key: "version", Value: old.Version}}
	}
	res, err := s.db.updateByID(ctx, s.coll(identityOrgsCollection), o.ID, cond,
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

// findUser reads the one user matching filter (on the embedded database from its tables, where a
// filter other than {_id: value} would otherwise read every user).
func (s *IdentityStore) findUser(ctx context.Context, filter bson.D) (identity.User, error) {
	docs, err := findDocs[identityUserDoc](ctx, s.db, s.coll(identityUsersCollection), filter, options.Find().SetLimit(1), "reading a user: %w")
	if err != nil {
		return identity.User{}, err
	}
	if len(docs) == 0 {
		return identity.User{}, identity.ErrNotFound
	}
	return fromIdentityUserDoc(docs[0]), nil
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
	res, err := s.db.updateByID(ctx, s.coll(identityUsersCollection), u.ID,
		bson.D{{Key: "org_id", Value: u.OrgID}, {Key: "version", Value: u.Version - 1}},
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

var _ identity.Store = (*IdentityStore)(nil)
