package mongodb

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// changeCountersCollection holds one counter document per organisation: {_id: org id, seq: last
// change sequence number handed out}.
const changeCountersCollection = "change_counters"

// NextChangeSeq returns the next number of organisation orgID's change sequence (1, 2, 3, ...). Every
// write of a record a device may sync stamps the record with such a number (the document field
// change_seq), so a device can ask for what changed after the last number it saw. Numbers are unique
// and increasing per organisation; a number may be skipped when the write that took it fails. It
// returns an error (503 database_unavailable) when the database fails.
func (d *DB) NextChangeSeq(ctx context.Context, orgID string) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	defer d.locks.document(changeCountersCollection, orgID)()
	err := d.db.Collection(changeCountersCollection).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: orgID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&doc)
	if err != nil {
		return 0, unavailable("taking the next change sequence number of %s: %w", orgID, err)
	}
	return doc.Seq, nil
}

// LastChangeSeq returns the last change sequence number handed out for orgID (0: none yet). It
// returns an error (503 database_unavailable) when the database fails.
func (d *DB) LastChangeSeq(ctx context.Context, orgID string) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	err := d.db.Collection(changeCountersCollection).FindOne(ctx, bson.D{{Key: "_id", Value: orgID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("reading the change sequence of %s: %w", orgID, err)
	}
	return doc.Seq, nil
}
