package mongodb

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// insertNew inserts doc into coll. It returns exists when the document's _id (or another unique key)
// is taken, or an Unavailable *apperr.Error saying what could not be created ("creating <what>: ...").
func insertNew(ctx context.Context, coll *mongo.Collection, doc any, exists error, what string) error {
	_, err := coll.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return exists
	}
	if err != nil {
		return unavailable("creating %s: %w", what, err)
	}
	return nil
}

// findByID decodes the document of coll whose _id is id into out. It returns notFound when there is
// none, or an Unavailable *apperr.Error saying what could not be read ("reading <what>: ...").
func findByID(ctx context.Context, coll *mongo.Collection, id string, out any, notFound error, what string) error {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return notFound
	}
	if err != nil {
		return unavailable("reading %s: %w", what, err)
	}
	return nil
}
