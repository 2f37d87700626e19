package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/ferret"
)

// updateByID updates the document of coll whose _id is id when it also matches cond (a conditional
// update: a version check, a head that only moves forward), as coll.UpdateOne with the filter
// {_id: id, cond...} does.
//
// On the embedded database FerretDB 1.24 pushes down only the filter {_id: value}: an update whose
// filter holds anything more reads and decodes every document of the collection (measured: the
// seed's step records, case updates and custody heads spent most of their time there, growing with
// the collections). There, cond is checked on the tables (an index search by _id) and the update
// sent with the filter {_id: id} alone. That is atomic only because the caller holds the process's
// lock of the document (DB.locks.document) and every writer of those documents in the process takes
// it; on the embedded database one process writes a deployment's records (the seed command writes only
// records it creates). A cond that does not translate goes to the driver whole. On MongoDB the filter
// goes to the server whole, as before. It returns the driver's or the tables' error.
func (d *DB) updateByID(ctx context.Context, coll *mongo.Collection, id string, cond bson.D, update any) (*mongo.UpdateResult, error) {
	filter := append(bson.D{{Key: "_id", Value: id}}, cond...)
	if d.tables == nil || len(cond) == 0 {
		return coll.UpdateOne(ctx, filter, update)
	}
	q, ok := translateFind(filter, nil)
	if !ok {
		return coll.UpdateOne(ctx, filter, update)
	}
	q.Limit, q.Fields = 1, []string{"_id"}
	docs, err := d.tables.Find(ctx, coll.Name(), q)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return &mongo.UpdateResult{}, nil
	}
	return coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update)
}

// lacksRecord reports whether run runID exists and holds no step record with clientID, read from the
// embedded database's tables (exists is false when there is no such run). ok is false when the tables
// are not in use.
func (d *DB) lacksRecord(ctx context.Context, runID, clientID string) (lacks, exists, ok bool, err error) {
	if d.tables == nil {
		return false, false, false, nil
	}
	docs, err := d.tables.Find(ctx, caseworkRunsCollection, ferret.Query{Where: []ferret.Cond{{Field: "_id", Op: ferret.Eq, Value: runID}},
		Limit: 1, Fields: []string{"_id", "records"}})
	if err != nil || len(docs) == 0 {
		return false, false, true, err
	}
	var run struct {
		Records []struct {
			ClientID string `bson:"client_id"`
		} `bson:"records"`
	}
	if err := bson.Unmarshal(docs[0], &run); err != nil {
		return false, true, true, err
	}
	for _, r := range run.Records {
		if r.ClientID == clientID {
			return false, true, true, nil
		}
	}
	return true, true, true, nil
}

// findByID decodes the document of coll whose _id is id into out, as the package's findByID does,
// but on the embedded database reads it from the tables (an index search and this package's decoder:
// FerretDB's own read of one document costs several times more, measured while seeding). It returns
// notFound when there is none, or an Unavailable *apperr.Error saying what could not be read.
func (d *DB) findByID(ctx context.Context, coll *mongo.Collection, id string, out any, notFound error, what string) error {
	if d.tables == nil {
		return findByID(ctx, coll, id, out, notFound, what)
	}
	docs, err := d.tables.Find(ctx, coll.Name(), ferret.Query{Where: []ferret.Cond{{Field: "_id", Op: ferret.Eq, Value: id}}, Limit: 1})
	if err != nil {
		return unavailable("reading %s: %w", what, err)
	}
	if len(docs) == 0 {
		return notFound
	}
	if err := bson.Unmarshal(docs[0], out); err != nil {
		return unavailable("reading %s: %w", what, err)
	}
	return nil
}
