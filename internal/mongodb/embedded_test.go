package mongodb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// The queries the stores make answer the same from the embedded database's tables (DB.Find) as from
// the driver (FerretDB's own query engine, MongoDB's semantics): equalities on scalars, arrays,
// nested fields, missing and null values, ranges on strings, numbers and dates, $in, $ne, $exists,
// $and, sorts on several keys both ways, and limits.
func TestTablesAnswerAsTheDriver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	coll := db.Collection("cases") // a collection the service creates (so it has its tables and indexes)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 60 {
		d := bson.D{{Key: "_id", Value: fmt.Sprintf("id-%03d", (i*37)%60)}, {Key: "org_id", Value: fmt.Sprintf("org-%d", i%3)},
			{Key: "status", Value: []string{"open", "closed"}[i%2]}, {Key: "change_seq", Value: int64(i)},
			{Key: "updated_at", Value: base.Add(time.Duration(i) * time.Hour)},
			{Key: "caseworker_ids", Value: bson.A{fmt.Sprintf("cw-%d", i%4), fmt.Sprintf("cw-%d", (i+1)%5)}},
			{Key: "child", Value: bson.D{{Key: "age_band", Value: []string{"under_6", "6_to_11", "12_to_17"}[i%3]}}},
			{Key: "version", Value: int32(i % 7)}, {Key: "flagged", Value: i%4 == 0}}
		switch i % 5 {
		case 0:
			d = append(d, bson.E{Key: "supervisor_id", Value: nil})
		case 1:
			d = append(d, bson.E{Key: "supervisor_id", Value: "sup-1"})
		case 2:
			d = append(d, bson.E{Key: "supervisor_id", Value: "sup-2"})
		}
		docs = append(docs, d)
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	tests := []struct {
		name   string
		filter bson.D
		opts   *options.FindOptionsBuilder
	}{
		{"org page", bson.D{{Key: "org_id", Value: "org-1"}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "id-010"}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(5)},
		{"array element", bson.D{{Key: "org_id", Value: "org-0"}, {Key: "caseworker_ids", Value: "cw-2"}}, byID},
		{"two array elements", bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "caseworker_ids", Value: "cw-1"}}, bson.D{{Key: "caseworker_ids", Value: "cw-2"}}}}}, byID},
		{"nested field", bson.D{{Key: "child.age_band", Value: "6_to_11"}, {Key: "status", Value: "open"}}, byID},
		{"date range", bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gte", Value: base.Add(10 * time.Hour)}, {Key: "$lt", Value: base.Add(20 * time.Hour)}}}}, byID},
		{"long range, descending", bson.D{{Key: "change_seq", Value: bson.D{{Key: "$gt", Value: int64(40)}}}}, options.Find().SetSort(bson.D{{Key: "change_seq", Value: -1}})},
		{"int $lte", bson.D{{Key: "version", Value: bson.D{{Key: "$lte", Value: 2}}}}, byID},
		{"$in on a scalar", bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: []string{"closed"}}}}, {Key: "org_id", Value: "org-2"}}, byID},
		{"$in on an array", bson.D{{Key: "caseworker_ids", Value: bson.D{{Key: "$in", Value: bson.A{"cw-0", "cw-4"}}}}}, byID},
		{"$in on _id", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"id-001", "id-002", "id-059", "none"}}}}}, byID},
		{"null matches missing", bson.D{{Key: "supervisor_id", Value: nil}}, byID},
		{"$ne includes missing", bson.D{{Key: "supervisor_id", Value: bson.D{{Key: "$ne", Value: "sup-1"}}}}, byID},
		{"$ne on an array", bson.D{{Key: "caseworker_ids", Value: bson.D{{Key: "$ne", Value: "cw-1"}}}}, byID},
		{"$exists false", bson.D{{Key: "supervisor_id", Value: bson.D{{Key: "$exists", Value: false}}}}, byID},
		{"$exists true", bson.D{{Key: "supervisor_id", Value: bson.D{{Key: "$exists", Value: true}}}}, byID},
		{"bool", bson.D{{Key: "flagged", Value: true}}, byID},
		{"$or cursor (after a time, or the same time and a later id)", bson.D{{Key: "org_id", Value: "org-1"}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gt", Value: base.Add(30 * time.Hour)}}}},
			bson.D{{Key: "updated_at", Value: base.Add(28 * time.Hour)}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "id-000"}}}}}}},
			options.Find().SetSort(bson.D{{Key: "updated_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(8)},
		{"two sort keys", bson.D{{Key: "org_id", Value: bson.D{{Key: "$in", Value: bson.A{"org-0", "org-1"}}}}},
			options.Find().SetSort(bson.D{{Key: "status", Value: -1}, {Key: "updated_at", Value: 1}}).SetLimit(17)},
		{"no filter, limit", bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !mongodb.Translates(tt.filter, tt.opts) {
				t.Fatal("the query does not translate: the tables would not answer it")
			}
			want := foundIDs(t, func() (*mongo.Cursor, error) { return coll.Find(ctx, tt.filter, tt.opts) })
			got := foundIDs(t, func() (*mongo.Cursor, error) { return db.Find(ctx, "cases", tt.filter, tt.opts) })
			if len(want) == 0 {
				t.Fatalf("the driver found nothing: the case tests nothing")
			}
			if !slices.Equal(got, want) {
				t.Errorf("tables answered %v, the driver %v", got, want)
			}
		})
	}
}

// foundIDs returns the _id of every document find's cursor holds, in order.
func foundIDs(t *testing.T, find func() (*mongo.Cursor, error)) []string {
	t.Helper()
	cur, err := find()
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out
}

// A projection of top-level fields answers from the tables with the same values as from the driver
// (scalars, arrays, nested objects, dates, stored nulls and missing fields), with _id unless excluded.
func TestTablesProjectAsTheDriver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	coll := db.Collection("runs")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 12 {
		d := bson.D{{Key: "_id", Value: fmt.Sprintf("run-%02d", i)}, {Key: "org_id", Value: "org-1"},
			{Key: "started_at", Value: base.Add(time.Duration(i) * time.Hour)}, {Key: "protocol_version", Value: int32(i)},
			{Key: "records", Value: bson.A{bson.D{{Key: "step_id", Value: "s1"}, {Key: "note", Value: "secret"}}}},
			{Key: "child", Value: bson.D{{Key: "needs", Value: bson.D{{Key: "interpreter", Value: i%2 == 0}}}}},
			{Key: "note", Value: "not projected"}}
		if i%3 == 0 {
			d = append(d, bson.E{Key: "closed_at", Value: nil})
		} else if i%3 == 1 {
			d = append(d, bson.E{Key: "closed_at", Value: base})
		}
		docs = append(docs, d)
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	filter := bson.D{{Key: "org_id", Value: "org-1"}}
	tests := []struct {
		name       string
		projection bson.D
	}{
		{"several fields", bson.D{{Key: "org_id", Value: 1}, {Key: "records", Value: 1}, {Key: "child", Value: 1}, {Key: "closed_at", Value: 1}, {Key: "started_at", Value: 1}, {Key: "protocol_version", Value: 1}}},
		{"without _id", bson.D{{Key: "_id", Value: 0}, {Key: "started_at", Value: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(tt.projection)
			if !mongodb.Translates(filter, opts) {
				t.Fatal("the query does not translate: the tables would not answer it")
			}
			want := foundDocs(t, func() (*mongo.Cursor, error) { return coll.Find(ctx, filter, opts) })
			got := foundDocs(t, func() (*mongo.Cursor, error) { return db.Find(ctx, "runs", filter, opts) })
			if len(want) != len(docs) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tables answered\n%v\nthe driver\n%v", got, want)
			}
		})
	}
	if mongodb.Translates(filter, options.Find().SetProjection(bson.D{{Key: "child.needs", Value: 1}})) {
		t.Error("a nested projection translates; the tables project top-level fields only")
	}
}

// foundDocs returns every document find's cursor holds, each as a map (so field order does not count).
func foundDocs(t *testing.T, find func() (*mongo.Cursor, error)) []map[string]any {
	t.Helper()
	cur, err := find()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := cur.All(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
