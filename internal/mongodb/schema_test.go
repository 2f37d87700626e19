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

// Cases and runs stored before the sync existed (no change_seq) get a change number from the
// migration to schema version 3, on the first start only: a document left without one afterwards is
// not looked for again (the stored version says the migration ran), so starts do not read every
// document.
func TestMigrationStampsCasesStoredBeforeSyncOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	raw := db.Audit().RawCollection().Database()
	schema := raw.Collection("schema_version")
	if _, err := schema.UpdateOne(ctx, bson.D{{Key: "_id", Value: "schema"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 2}}}},
		options.UpdateOne().SetUpsert(true)); err != nil {
		t.Fatal(err)
	}
	insert := func(coll, id string) {
		t.Helper()
		doc := bson.D{{Key: "_id", Value: id}, {Key: "org_id", Value: "o-old"}}
		if coll == "cases" {
			doc = append(doc, bson.E{Key: "caseworker_ids", Value: bson.A{"u-old"}})
		}
		if _, err := raw.Collection(coll).InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	type stamp struct {
		Seq      *int64   `bson:"change_seq"`
		Former   []string `bson:"former_caseworker_ids"`
		Assigned bson.Raw `bson:"assigned"`
	}
	read := func(coll, id string) stamp {
		t.Helper()
		var s stamp
		if err := raw.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	insert("cases", "c-old")
	insert("runs", "r-old")

	found, err := db.MigrateSchema(ctx)
	if err != nil || found != 2 {
		t.Fatalf("first start: found %d, %v; want 2", found, err)
	}
	c, r := read("cases", "c-old"), read("runs", "r-old")
	if c.Seq == nil || r.Seq == nil || *c.Seq == *r.Seq || *c.Seq < 1 || *r.Seq < 1 {
		t.Fatalf("not stamped: case %v, run %v", c.Seq, r.Seq)
	}
	if c.Former == nil || len(c.Assigned) == 0 {
		t.Errorf("the case has no assignment history: former %v, assigned %v", c.Former, c.Assigned)
	}
	if w, err := db.ChangeWatermark(ctx, "o-old"); err != nil || w < max(*c.Seq, *r.Seq) {
		t.Errorf("watermark %d, %v; want at least the stamps %d, %d", w, err, *c.Seq, *r.Seq)
	}

	insert("cases", "c-later") // no start looks for it again
	found, err = db.MigrateSchema(ctx)
	if err != nil || found != mongodb.SchemaVersion {
		t.Fatalf("second start: found %d, %v; want %d", found, err, mongodb.SchemaVersion)
	}
	if s := read("cases", "c-later"); s.Seq != nil {
		t.Errorf("the second start ran the migration again: stamped %d", *s.Seq)
	}
	if s := read("cases", "c-old"); s.Seq == nil || *s.Seq != *c.Seq {
		t.Errorf("the second start changed the stamp: %v, want %d", s.Seq, *c.Seq)
	}
}
