package mongodb_test

import (
	"context"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

func TestCreateCollections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	raw := db.Audit().RawCollection().Database()
	if _, err := raw.Collection("cases").InsertOne(ctx, bson.D{{Key: "_id", Value: "c-1"}}); err != nil { // one exists already
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := db.CreateCollections(ctx); err != nil {
			t.Fatal(err)
		}
	}
	names, err := raw.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cases", "audit_log", "audit_heads", "idempotency_keys", "change_counters", "sync_results"} {
		if !slices.Contains(names, want) {
			t.Fatalf("collections %v lack %s", names, want)
		}
	}
	if n, err := raw.Collection("cases").CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Fatalf("cases holds %d documents, %v; want the one stored before", n, err)
	}
}
