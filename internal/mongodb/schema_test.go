package mongodb_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// A new database gets the current schema version, a start on it again changes nothing, and data of a
// newer version is refused.
func TestMigrateSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	coll := db.Audit().RawCollection().Database().Collection("schema_version")
	stored := func() int {
		t.Helper()
		var doc struct{ Version int }
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "schema"}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		return doc.Version
	}
	ring := caseworkRing(t, caseworkKey("k1", 1))
	for i, want := range []int{0, mongodb.SchemaVersion} {
		found, err := db.MigrateSchemaWithKeys(ctx, ring)
		if err != nil || found != want || stored() != mongodb.SchemaVersion {
			t.Fatalf("start %d: found %d (want %d), stored %d, %v", i, found, want, stored(), err)
		}
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "schema"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: mongodb.SchemaVersion + 1}}}}, options.UpdateOne()); err != nil {
		t.Fatal(err)
	}
	var newer *mongodb.NewerSchemaError
	if _, err := db.MigrateSchema(ctx); !errors.As(err, &newer) || newer.Stored != mongodb.SchemaVersion+1 {
		t.Fatalf("newer data: %v", err)
	}
}
