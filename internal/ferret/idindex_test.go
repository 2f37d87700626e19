package ferret

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ferretIDQuery is the WHERE clause FerretDB 1.24's SQLite handler builds for a filter {_id: value}
// (metadata.IDColumn in its backends/sqlite/metadata package).
const ferretIDQuery = `SELECT _ferretdb_sjson FROM %s WHERE _ferretdb_sjson->'$._id' = ?`

// startWithDocs starts a server in a fresh folder with n documents in each of the collections named.
func startWithDocs(tb testing.TB, n int, colls ...string) (*Server, *mongo.Database) {
	tb.Helper()
	s, err := Start(privateTempDir(tb), io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Disconnect(context.Background()) })
	db := c.Database("d")
	for _, name := range colls {
		docs := make([]any, n)
		for i := range docs {
			docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("id-%05d", i)}, {Key: "n", Value: i}}
		}
		if _, err := db.Collection(name).InsertMany(context.Background(), docs); err != nil {
			tb.Fatal(err)
		}
	}
	return s, db
}

// queryPlans returns, for each FerretDB table of the database file, SQLite's plan for a lookup by _id.
func queryPlans(t *testing.T, s *Server) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, "d.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	plans := map[string]string{}
	for _, table := range tables {
		var id, parent, unused int
		var plan string
		if err := db.QueryRow("EXPLAIN QUERY PLAN "+fmt.Sprintf(ferretIDQuery, quote(table)), `"id-00001"`).Scan(&id, &parent, &unused, &plan); err != nil {
			t.Fatal(err)
		}
		plans[table] = plan
	}
	return plans
}

func TestIndexIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := startWithDocs(t, 50, "cases", "audit_log")
	for table, plan := range queryPlans(t, s) {
		if !strings.HasPrefix(plan, "SCAN") {
			t.Fatalf("before IndexIDs, %s: %q; FerretDB's own _id index is used after all, IndexIDs may be unneeded", table, plan)
		}
	}
	other, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, "other.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`CREATE TABLE notes (body TEXT)`); err != nil { // not FerretDB's: left alone
		t.Fatal(err)
	}
	other.Close()
	for range 2 { // idempotent
		if err := s.IndexIDs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	plans := queryPlans(t, s)
	if len(plans) != 2 {
		t.Fatalf("plans for %d tables, want 2", len(plans))
	}
	for table, plan := range plans {
		if !strings.Contains(plan, "USING INDEX "+table+idIndexSuffix) {
			t.Fatalf("after IndexIDs, %s: %q", table, plan)
		}
	}
	coll := db.Collection("cases")
	var got struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "id-00042"}}).Decode(&got); err != nil || got.N != 42 {
		t.Fatalf("find by _id after IndexIDs = %+v, %v", got, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "id-00042"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: -1}}}}); err != nil {
		t.Fatal(err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "id-00042"}}).Decode(&got); err != nil || got.N != -1 {
		t.Fatalf("find by _id after an update = %+v, %v", got, err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "id-00042"}}); !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("a duplicate _id = %v, want a duplicate-key error", err)
	}
	if err := coll.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if plans := queryPlans(t, s); len(plans) != 1 {
		t.Fatalf("after a drop, %d tables", len(plans))
	}
}

// BenchmarkFindByID reads one document by _id among 5,000 before and after IndexIDs, in one run:
//
//	go test ./internal/ferret -run '^$' -bench FindByID
func BenchmarkFindByID(b *testing.B) {
	ctx := context.Background()
	s, db := startWithDocs(b, 5_000, "things")
	coll := db.Collection("things")
	for _, indexed := range []bool{false, true} {
		if indexed {
			if err := s.IndexIDs(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("indexed=%v", indexed), func(b *testing.B) {
			for b.Loop() {
				if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "id-04000"}}).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
