package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/ferret"
)

// updateByID updates the document of coll whose _id is id when it also matches cond (a conditional
// update: a version check, a head that only moves forward), as coll.UpdateOne with the filter
// {_id: id, cond...} does; see byIDFilter for how that stays cheap on the embedded database. The
// caller holds the document's lock (DB.locks.document). It returns the driver's or the tables'
// error.
func (d *DB) updateByID(ctx context.Context, coll *mongo.Collection, id string, cond bson.D, update any) (*mongo.UpdateResult, error) {
	filter, match, err := d.byIDFilter(ctx, coll, id, cond)
	if err != nil || !match {
		return &mongo.UpdateResult{}, err
	}
	return coll.UpdateOne(ctx, filter, update)
}

// replaceByID replaces the document of coll whose _id is id by doc when it also matches cond, as
// coll.ReplaceOne with the filter {_id: id, cond...} does (see updateByID). The caller holds the
// document's lock. It returns the driver's or the tables' error.
func (d *DB) replaceByID(ctx context.Context, coll *mongo.Collection, id string, cond bson.D, doc any) (*mongo.UpdateResult, error) {
	filter, match, err := d.byIDFilter(ctx, coll, id, cond)
	if err != nil || !match {
		return &mongo.UpdateResult{}, err
	}
	return coll.ReplaceOne(ctx, filter, doc)
}

// deleteByID deletes the document of coll whose _id is id when it also matches cond, as
// coll.DeleteOne with the filter {_id: id, cond...} does (see updateByID). The caller holds the
// document's lock. It returns the driver's or the tables' error.
func (d *DB) deleteByID(ctx context.Context, coll *mongo.Collection, id string, cond bson.D) (*mongo.DeleteResult, error) {
	filter, match, err := d.byIDFilter(ctx, coll, id, cond)
	if err != nil || !match {
		return &mongo.DeleteResult{}, err
	}
	return coll.DeleteOne(ctx, filter)
}

// byIDFilter returns the filter a conditional write to the document of coll whose _id is id sends,
// and match false when the write can be skipped because the document does not match cond.
//
// On the embedded database FerretDB 1.24 pushes down only the filter {_id: value}: a write whose
// filter holds anything more reads and decodes every document of the collection (measured: the
// seed's step records, case updates and custody heads spent most of their time there, and every
// audited request paid a read of every organisation's audit head). There, cond is checked on the
// tables (an index search by _id) and the write sent with the filter {_id: id} alone. That is atomic
// only because the caller holds the process's lock of the document (DB.locks.document) and every
// writer of those documents in the process takes it; on the embedded database one process writes a
// deployment's records (the seed command writes only records it creates). A cond that does not
// translate goes to the driver whole. On MongoDB the filter goes to the server whole, correct with
// any number of instances. It returns the tables' error.
func (d *DB) byIDFilter(ctx context.Context, coll *mongo.Collection, id string, cond bson.D) (filter bson.D, match bool, err error) {
	filter = append(bson.D{{Key: "_id", Value: id}}, cond...)
	if d.tables == nil || d.tablesRead || len(cond) == 0 {
		return filter, true, nil
	}
	q, ok := translateFind(filter, nil)
	if !ok {
		return filter, true, nil
	}
	q.Limit, q.Fields = 1, []string{"_id"}
	docs, err := d.tables.Find(ctx, coll.Name(), q)
	if err != nil || len(docs) == 0 {
		return nil, false, err
	}
	return bson.D{{Key: "_id", Value: id}}, true, nil
}

// lacksRecord reports whether run runID exists and holds no step record with clientID, read from the
// embedded database's tables (exists is false when there is no such run). ok is false when the tables
// are not in use, or only read (ReadFromTables: the check and the write would not be atomic).
func (d *DB) lacksRecord(ctx context.Context, runID, clientID string) (lacks, exists, ok bool, err error) {
	if d.tables == nil || d.tablesRead {
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
