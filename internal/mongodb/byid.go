package mongodb

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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

// findDocs decodes the documents of coll matching filter (sorted, limited or projected by opts, which
// may be nil) as D, read through d.find (from the embedded database's tables where it can). It returns an Unavailable *apperr.Error made of format and args with the driver's
// error appended (format ends with ": %w").
func findDocs[D any](ctx context.Context, d *DB, coll *mongo.Collection, filter bson.D, opts *options.FindOptionsBuilder, format string, args ...any) ([]D, error) {
	docs := []D{}
	if d.tables != nil {
		// From the tables, each document is decoded as it is read: no cursor re-encodes it first.
		if q, ok := translateFind(filter, opts); ok {
			err := d.tables.Each(ctx, coll.Name(), q, func(raw bson.Raw) error {
				var doc D
				if err := bson.Unmarshal(raw, &doc); err != nil {
					return err
				}
				docs = append(docs, doc)
				return nil
			})
			if err != nil {
				return nil, unavailable(format, append(args, err)...)
			}
			return docs, nil
		}
	}
	cur, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, unavailable(format, append(args, err)...)
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, unavailable(format, append(args, err)...)
	}
	return docs, nil
}

// convertAll converts documents with conv, stopping at its first error (a field that does not
// decrypt), which it returns as is.
func convertAll[D, T any](docs []D, conv func(D) (T, error)) ([]T, error) {
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		v, err := conv(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// mapDocs converts documents with a conversion that cannot fail.
func mapDocs[D, T any](docs []D, conv func(D) T) []T {
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out
}
