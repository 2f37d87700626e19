package mongodb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

// The case list of one caseworker ({org_id, caseworker_ids: id}) answers, after inserts, updates of
// the array (set, push, pull, emptied, removed) and of other fields, and deletes, exactly the cases
// that hold the caseworker: the same as the query without the element table ($in, which tests each
// case's array) and as a count kept here. On the embedded database the query reads the element table
// (ferret.Tables.ElementIndex) that the triggers keep.
func TestCaseworkerElementTableFollowsWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	cases := db.Collection("cases")
	model := map[string][]string{} // case id -> caseworkers, org-e's only
	workers := []string{"w1", "w2", "w3", "w4"}
	check := func(step string) {
		t.Helper()
		for _, w := range workers {
			var want []string
			for id, ws := range model {
				if slices.Contains(ws, w) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			for _, filter := range []bson.D{
				{{Key: "org_id", Value: "org-e"}, {Key: "caseworker_ids", Value: w}},
				{{Key: "org_id", Value: "org-e"}, {Key: "caseworker_ids", Value: bson.D{{Key: "$in", Value: bson.A{w}}}}},
			} {
				cur, err := db.Find(ctx, "cases", filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(bson.D{{Key: "_id", Value: 1}}))
				if err != nil {
					t.Fatal(err)
				}
				var docs []struct {
					ID string `bson:"_id"`
				}
				if err := cur.All(ctx, &docs); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range docs {
					got = append(got, d.ID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: cases of %s by %v: %v, want %v", step, w, filter[1].Value, got, want)
				}
			}
			var paged []string // pages of 2 after the last id, as the case list's cursor reads them
			for range 20 {
				filter := bson.D{{Key: "org_id", Value: "org-e"}, {Key: "caseworker_ids", Value: w}}
				if len(paged) > 0 {
					filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: paged[len(paged)-1]}}})
				}
				cur, err := db.Find(ctx, "cases", filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(2))
				if err != nil {
					t.Fatal(err)
				}
				var page []struct {
					ID string `bson:"_id"`
				}
				if err := cur.All(ctx, &page); err != nil {
					t.Fatal(err)
				}
				for _, d := range page {
					paged = append(paged, d.ID)
				}
				if len(page) < 2 {
					break
				}
			}
			if !slices.Equal(paged, want) {
				t.Errorf("%s: cases of %s in pages of 2: %v, want %v", step, w, paged, want)
			}
		}
	}
	for i := range 30 {
		id := fmt.Sprintf("case-%02d", i)
		ws := []string{}
		for j, w := range workers {
			if (i+j)%3 == 0 {
				ws = append(ws, w)
			}
		}
		org := "org-e"
		if i%10 == 9 {
			org = "org-other" // holds caseworkers too, never listed
		} else {
			model[id] = ws
		}
		if _, err := cases.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "org_id", Value: org}, {Key: "caseworker_ids", Value: ws}, {Key: "status", Value: "open"}}); err != nil {
			t.Fatal(err)
		}
	}
	check("inserted")

	update := func(id string, u bson.D, ws []string) {
		t.Helper()
		if _, err := cases.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, u); err != nil {
			t.Fatal(err)
		}
		if ws == nil {
			delete(model, id)
			return
		}
		model[id] = ws
	}
	set := func(v any) bson.D { return bson.D{{Key: "$set", Value: bson.D{{Key: "caseworker_ids", Value: v}}}} }
	update("case-00", set([]string{"w2"}), []string{"w2"})
	update("case-01", bson.D{{Key: "$push", Value: bson.D{{Key: "caseworker_ids", Value: "w1"}}}}, append(slices.Clone(model["case-01"]), "w1"))
	update("case-03", bson.D{{Key: "$pull", Value: bson.D{{Key: "caseworker_ids", Value: "w1"}}}},
		slices.DeleteFunc(slices.Clone(model["case-03"]), func(w string) bool { return w == "w1" }))
	update("case-04", set([]string{}), []string{})
	update("case-05", bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "closed"}}}}, model["case-05"]) // another field
	update("case-06", bson.D{{Key: "$unset", Value: bson.D{{Key: "caseworker_ids", Value: ""}}}}, []string{})
	update("case-07", set([]string{"w3", "w4", "w1"}), []string{"w3", "w4", "w1"})
	check("updated")

	for _, id := range []string{"case-02", "case-07", "case-19"} {
		if _, err := cases.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			t.Fatal(err)
		}
		delete(model, id)
	}
	check("deleted")
	if _, err := cases.InsertOne(ctx, bson.D{{Key: "_id", Value: "case-07"}, {Key: "org_id", Value: "org-e"}, {Key: "caseworker_ids", Value: []string{"w2"}}}); err != nil {
		t.Fatal(err)
	}
	model["case-07"] = []string{"w2"}
	check("inserted again")

	plan, ok, err := db.TablesPlan(ctx, "cases", bson.D{{Key: "org_id", Value: "org-e"}, {Key: "caseworker_ids", Value: "w1"}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(51))
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		text := strings.Join(plan, "\n")
		if !strings.HasPrefix(text, "SEARCH cg_side USING PRIMARY KEY (elem=?)") || strings.Contains(text, "SCAN cases") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("the caseworker's cases are not read from the element table:\n%s", text)
		}
	}
}

// BenchmarkCaseworkerList measures the first page (50 and one) of one caseworker's cases among an
// organisation's 5,000 (40 caseworkers, two each), read from the element table ({caseworker_ids: id})
// against the same page found by testing each case's array ({caseworker_ids: {$in: [id]}}, the
// query's plan before the element table) and a read of one case by id, in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench CaseworkerList -benchtime 50x
func BenchmarkCaseworkerList(b *testing.B) {
	ctx := context.Background()
	db := dbtest.Open(b)
	const size, workers = 5000, 40
	filler := strings.Repeat("x", 1500) // about a stored case's size
	docs := make([]any, 0, size)
	for i := range size {
		docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("case-%05d", i)}, {Key: "org_id", Value: "org-b"},
			{Key: "caseworker_ids", Value: []string{fmt.Sprint("w", i%workers), fmt.Sprint("w", (i+5)%workers)}}, {Key: "notes", Value: filler}})
	}
	if _, err := db.Collection("cases").InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	page := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(51)
	read := func(filter bson.D) {
		cur, err := db.Find(ctx, "cases", filter, page)
		if err != nil {
			b.Fatal(err)
		}
		var got []bson.Raw
		if err := cur.All(ctx, &got); err != nil || len(got) != 51 {
			b.Fatalf("%d cases, %v", len(got), err)
		}
	}
	var sideTime, scanTime, getTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := fmt.Sprint("w", i%workers)
		t0 := time.Now()
		read(bson.D{{Key: "org_id", Value: "org-b"}, {Key: "caseworker_ids", Value: w}})
		sideTime += time.Since(t0)
		t0 = time.Now()
		read(bson.D{{Key: "org_id", Value: "org-b"}, {Key: "caseworker_ids", Value: bson.D{{Key: "$in", Value: bson.A{w}}}}})
		scanTime += time.Since(t0)
		t0 = time.Now()
		if err := db.Collection("cases").FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("case-%05d", (i*7919)%size)}}).Err(); err != nil {
			b.Fatal(err)
		}
		getTime += time.Since(t0)
	}
	b.ReportMetric(float64(sideTime.Microseconds())/float64(b.N)/1000, "element_table_ms")
	b.ReportMetric(float64(scanTime.Microseconds())/float64(b.N)/1000, "array_test_ms")
	b.ReportMetric(float64(getTime.Microseconds())/float64(b.N)/1000, "get_ms")
}
