package mongodb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

const (
	versionsCollection = "protocol_versions"
	headsCollection    = "protocols"
)

// versionDoc is a published protocol version. _id is "<protocol id>:<version, 6 digits>" so the hot
// read is an _id lookup and two instances publishing the same number collide on the key.
// The document is stored as its canonical JSON: it is read and written whole and never queried inside.
type versionDoc struct {
	ID          string    `bson:"_id"`
	ProtocolID  string    `bson:"protocol_id"`
	Version     int       `bson:"version"`
	Kind        string    `bson:"kind"`
	ContentHash string    `bson:"content_hash"`
	PublishedAt time.Time `bson:"published_at"`
	Content     []byte    `bson:"content,omitempty"`
}

// headDoc points at a protocol's latest version.
type headDoc struct {
	ID            string    `bson:"_id"`
	LatestVersion int       `bson:"latest_version"`
	UpdatedAt     time.Time `bson:"updated_at"`
	Retired       bool      `bson:"retired,omitempty"` // set by AuthoringStore.Retire
}

func versionID(protocolID string, number int) string {
	return fmt.Sprintf("%s:%06d", protocolID, number)
}

// ProtocolStore implements protocol.Store.
type ProtocolStore struct{ db *DB }

// Protocols returns the protocol store.
func (d *DB) Protocols() *ProtocolStore { return &ProtocolStore{db: d} }

func toVersionDoc(v protocol.Version) (versionDoc, error) {
	content, err := json.Marshal(v.Document)
	if err != nil {
		return versionDoc{}, fmt.Errorf("encoding %s: %w", v.ProtocolID, err)
	}
	return versionDoc{ID: versionID(v.ProtocolID, v.Number), ProtocolID: v.ProtocolID, Version: v.Number,
		Kind: string(v.Document.Protocol.Kind), ContentHash: v.ContentHash, PublishedAt: v.PublishedAt, Content: content}, nil
}

func fromVersionDoc(d versionDoc) (protocol.Version, error) {
	v := protocol.Version{ProtocolID: d.ProtocolID, Number: d.Version, ContentHash: d.ContentHash, PublishedAt: d.PublishedAt.UTC()}
	if d.Content != nil {
		if err := json.Unmarshal(d.Content, &v.Document); err != nil {
			return v, fmt.Errorf("decoding %s: %w", d.ID, err)
		}
	}
	return v, nil
}

// InsertVersion stores v and moves the protocol's head to it when it is newer.
// It returns protocol.ErrVersionExists when the version number is taken, or the driver's error.
func (s *ProtocolStore) InsertVersion(ctx context.Context, v protocol.Version) error {
	doc, err := toVersionDoc(v)
	if err != nil {
		return err
	}
	if err := insertNew(ctx, s.db.db.Collection(versionsCollection), doc, protocol.ErrVersionExists, doc.ID); err != nil {
		return err
	}
	heads := s.db.db.Collection(headsCollection)
	defer s.db.locks.document(headsCollection, v.ProtocolID)()
	res, err := s.db.updateByID(ctx, heads, v.ProtocolID, bson.D{{Key: "latest_version", Value: bson.D{{Key: "$lt", Value: v.Number}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "latest_version", Value: v.Number}, {Key: "updated_at", Value: v.PublishedAt}}}})
	if err != nil {
		return unavailable("moving the head of %s: %w", v.ProtocolID, err)
	}
	if res.MatchedCount == 0 {
		_, err := heads.InsertOne(ctx, headDoc{ID: v.ProtocolID, LatestVersion: v.Number, UpdatedAt: v.PublishedAt})
		if err != nil && !mongo.IsDuplicateKeyError(err) { // duplicate: the head is already at or past v
			return unavailable("creating the head of %s: %w", v.ProtocolID, err)
		}
	}
	return nil
}

// LatestVersions returns the latest version of every protocol, with documents.
// It returns the driver's error when a read fails.
func (s *ProtocolStore) LatestVersions(ctx context.Context) ([]protocol.Version, error) {
	heads, err := findDocs[headDoc](ctx, s.db, s.db.db.Collection(headsCollection), bson.D{}, nil, "listing protocols: %w")
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Version, 0, len(heads))
	for _, h := range heads {
		v, err := s.Version(ctx, h.ID, h.LatestVersion)
		if err != nil {
			return nil, err
		}
		v.Retired = h.Retired
		out = append(out, v)
	}
	return out, nil
}

// Versions returns the versions of a protocol, oldest first, without documents.
// It returns the driver's error when the read fails.
func (s *ProtocolStore) Versions(ctx context.Context, protocolID string) ([]protocol.Version, error) {
	opts := options.Find().SetSort(bson.D{{Key: "version", Value: 1}}).SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "protocol_id", Value: 1},
		{Key: "version", Value: 1}, {Key: "kind", Value: 1}, {Key: "content_hash", Value: 1}, {Key: "published_at", Value: 1}}) // all but the content
	docs, err := findDocs[versionDoc](ctx, s.db, s.db.db.Collection(versionsCollection), bson.D{{Key: "protocol_id", Value: protocolID}}, opts, "listing versions of %s: %w", protocolID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, fromVersionDoc)
}

// Version returns one version with its document: protocol.ErrNoVersion when it does not exist,
// or the driver's error.
func (s *ProtocolStore) Version(ctx context.Context, protocolID string, number int) (protocol.Version, error) {
	var d versionDoc
	id := versionID(protocolID, number)
	if err := findByID(ctx, s.db.db.Collection(versionsCollection), id, &d, protocol.ErrNoVersion, id); err != nil {
		return protocol.Version{}, err
	}
	return fromVersionDoc(d)
}
