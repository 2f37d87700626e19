package ferret

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// An element table is filled from the documents already stored (scalar elements only, not
// sub-documents; FerretDB refuses nested arrays; a missing,
// null or scalar field as MongoDB matches it), is left as it is by a second call, and follows
// FerretDB's inserts, updates and deletes.
func TestElementIndexFillsAndFollows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := startWithDocs(t, 0)
	coll := db.Collection("c")
	docs := []any{
		bson.D{{Key: "_id", Value: "a"}, {Key: "tags", Value: bson.A{"x", "y", "x"}}},
		bson.D{{Key: "_id", Value: "b"}, {Key: "tags", Value: bson.A{"y", nil, bson.D{{Key: "k", Value: "x"}}, int32(7)}}},
		bson.D{{Key: "_id", Value: "c"}, {Key: "tags", Value: "z"}},
		bson.D{{Key: "_id", Value: "d"}, {Key: "tags", Value: nil}},
		bson.D{{Key: "_id", Value: "e"}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	tables, err := s.Tables("d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	rows := func(step string, want ...string) {
		t.Helper()
		table, err := tables.table(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		r, err := tables.db.QueryContext(ctx, fmt.Sprintf(`SELECT elem, id FROM %s ORDER BY id, elem`, quote(table+"_cg_elems_tags")))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var got []string
		for r.Next() {
			var elem any
			var id string
			if err := r.Scan(&elem, &id); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(id, ":", elem))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: element table %v, want %v", step, got, want)
		}
	}
	for range 2 {
		if err := tables.ElementIndex(ctx, "c", "tags"); err != nil {
			t.Fatal(err)
		}
		rows("filled", "a:x", "a:y", "b:7", "b:y", "c:z")
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "f"}, {Key: "tags", Value: bson.A{"q"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "tags", Value: bson.A{"w"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	rows("after writes", "a:w", "c:z", "f:q")
	got, err := tables.Find(ctx, "c", Query{Where: []Cond{{Field: "tags", Op: Eq, Value: "z", Array: true}}})
	if err != nil || len(got) != 1 || got[0].Lookup("_id").StringValue() != "c" {
		t.Errorf("find by an element: %v, %v", got, err)
	}
	if err := tables.ElementIndex(ctx, "c", "no.dots"); err == nil {
		t.Error("a dotted field was taken")
	}
}
