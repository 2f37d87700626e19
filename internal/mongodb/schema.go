package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// schemaCollection holds one document, {_id: "schema", version, updated_at}: the layout version of
// the stored data.
const schemaCollection = "schema_version"

// SchemaVersion is the layout of stored data this code reads and writes. Raise it by one with each
// change that needs existing data rewritten, and append that rewrite to migrations; never lower it.
const SchemaVersion = 3

// migration rewrites data of one layout into the next; needsKeys marks one that reads or writes
// encrypted fields and so runs only once the field key ring is loaded (MigrateSchemaWithKeys).
type migration struct {
	needsKeys bool
	run       func(ctx context.Context, d *DB, ring *fieldcrypt.KeyRing) error
}

// migrations[i] rewrites data of layout i into layout i+1. Each must be idempotent (an interrupted
// start runs it again) and work on both MongoDB and FerretDB. Layout 0 is a database from before
// versions were stored, which is layout 1 already; indexes are created idempotently at every start.
// Layout 2 encrypts each case's fields under the case's own data key (migrateToCaseKeys). Layout 3
// has a change sequence number on every case and run (migrateStampChangeSeq).
var migrations = []migration{
	0: {run: func(context.Context, *DB, *fieldcrypt.KeyRing) error { return nil }},
	1: {needsKeys: true, run: migrateToCaseKeys},
	2: {run: migrateStampChangeSeq},
}

// NewerSchemaError is returned by MigrateSchema for data written by a newer version of the service.
type NewerSchemaError struct{ Stored, Supported int }

// Error says which versions met and what to do.
func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the database holds data of schema version %d, written by a newer caseguide; this one knows versions up to %d: "+
		"run that newer version (or restore a backup taken before the upgrade), never an older one on newer data", e.Stored, e.Supported)
}

// MigrateSchema brings the stored data towards SchemaVersion at start: it reads the stored version
// (none: 0), refuses data of a newer version with a *NewerSchemaError, runs the migrations from the
// stored version up, each followed by storing its version, stopping before the first that needs the
// field key ring (MigrateSchemaWithKeys runs the rest), and returns the version found. It returns the
// database's or a migration's error otherwise.
func (d *DB) MigrateSchema(ctx context.Context) (found int, err error) {
	return d.migrate(ctx, nil)
}

// MigrateSchemaWithKeys is MigrateSchema with the field key ring, so every migration runs; it
// returns MigrateSchema's errors.
func (d *DB) MigrateSchemaWithKeys(ctx context.Context, ring *fieldcrypt.KeyRing) (found int, err error) {
	return d.migrate(ctx, ring)
}

func (d *DB) migrate(ctx context.Context, ring *fieldcrypt.KeyRing) (found int, err error) {
	coll := d.db.Collection(schemaCollection)
	var doc struct {
		Version int `bson:"version"`
	}
	err = coll.FindOne(ctx, bson.D{{Key: "_id", Value: "schema"}}).Decode(&doc)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	found = doc.Version
	if found > SchemaVersion {
		return found, &NewerSchemaError{Stored: found, Supported: SchemaVersion}
	}
	for v := found; v < SchemaVersion; v++ {
		if migrations[v].needsKeys && ring == nil {
			break
		}
		if err := migrations[v].run(ctx, d, ring); err != nil {
			return found, fmt.Errorf("migrating the data from schema version %d to %d: %w", v, v+1, err)
		}
		_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "schema"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: v + 1}, {Key: "updated_at", Value: time.Now().UTC()}}}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return found, fmt.Errorf("storing schema version %d: %w", v+1, err)
		}
	}
	return found, nil
}
