package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/config"
)

// The seed's bulk mode (the default) writes the documents the services write one request at a time
// (-bulk=false): the same agency seeded both ways holds, in every collection it stages (cases, runs,
// interview sessions and logs, evidence items and custody events), the same documents by _id with
// the same fields in the same order and the same values, except what differs between any two runs
// (server times, change numbers, chain hashes and receipts over those times, ciphertexts under random
// nonces and per-run case keys). Both databases verify (the seed verifies every audit log and custody
// chain at its end); TestSeedCommand checks the bulk-seeded one through the API.
func TestSeedBulkWritesTheServicesDocuments(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("compares two embedded databases")
	}
	seeded := map[bool]map[string]map[string][]leaf{}
	for _, bulk := range []bool{false, true} {
		dir := t.TempDir()
		env := testEnv(dir, nil)
		getenv := func(k string) string { return env[k] }
		var out bytes.Buffer
		args := []string{"-cases", "6", "-seed", "11", "-reads", "2", "-password", "seeded agency passphrase", fmt.Sprintf("-bulk=%t", bulk)}
		// seedCommand as run calls it for "api seed", with the tests' cheap password hashes.
		if err := seedCommand(context.Background(), args, getenv, &out, &out, testPasswords); err != nil {
			t.Fatalf("seed -bulk=%t: %v\n%s", bulk, err, out.String())
		}
		if !strings.Contains(out.String(), "verified") {
			t.Fatalf("seed -bulk=%t did not verify:\n%s", bulk, out.String())
		}
		seeded[bulk] = readSeeded(t, getenv)
	}
	for _, coll := range seedCollections {
		t.Run(coll, func(t *testing.T) {
			want, got := seeded[false][coll], seeded[true][coll]
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("%d documents written in bulk, %d through the services", len(got), len(want))
			}
			for id, w := range want {
				g, ok := got[id]
				if !ok {
					t.Errorf("document %s not written in bulk", id)
					continue
				}
				if !slices.Equal(g, w) {
					t.Errorf("document %s differs:\nbulk:     %v\nservices: %v\norder in bulk: %v\nthrough the services: %v", id, differing(g, w), differing(w, g), paths(g), paths(w))
				}
			}
		})
	}
}

// seedCollections are the collections the bulk mode writes itself.
var seedCollections = []string{"cases", "runs", "interview_sessions", "interview_logs", "evidence_items", "evidence_events"}

// leaf is one value of a document: its path, its BSON type and (unless it differs between any two
// runs) its value.
type leaf struct{ path, typ, value string }

// readSeeded reads the seeded collections of the database getenv configures, each document flattened
// into its leaves, by _id.
func readSeeded(t *testing.T, getenv func(string) string) map[string]map[string][]leaf {
	t.Helper()
	cfg, err := config.Load(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, closeDB, err := openDatabase(ctx, cfg, false, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	// Users get ids of the run's time: name them by their usernames.
	users := map[string]string{}
	cur, err := db.Collection("users").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var us []struct {
		ID       string `bson:"_id"`
		Username string `bson:"username"`
	}
	if err := cur.All(ctx, &us); err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		users[u.ID] = "user " + u.Username
	}
	out := map[string]map[string][]leaf{}
	for _, coll := range seedCollections {
		cur, err := db.Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		out[coll] = map[string][]leaf{}
		for _, d := range docs {
			var leaves []leaf
			flatten("", d, users, &leaves)
			out[coll][d.Lookup("_id").StringValue()] = leaves
		}
	}
	return out
}

// volatile are the fields whose values differ between any two runs of the seed.
// (item_digest is a custody event's digest of its item, which holds server times.)
var volatile = map[string]bool{"change_seq": true, "hash": true, "prev_hash": true, "receipt": true, "item_digest": true}

// differing returns the leaves of a that b lacks.
func differing(a, b []leaf) []leaf {
	var out []leaf
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// flatten appends the leaves of doc under prefix, user ids replaced by the users' names.
func flatten(prefix string, doc bson.Raw, users map[string]string, leaves *[]leaf) {
	elems, _ := doc.Elements()
	for _, e := range elems {
		key, v := e.Key(), e.Value()
		path := prefix + key
		switch v.Type {
		case bson.TypeEmbeddedDocument:
			if key == "by_type" { // a Go map: its keys come in any order, through the services too
				var m []leaf
				flatten(path+".", v.Document(), users, &m)
				slices.SortFunc(m, func(a, b leaf) int { return strings.Compare(a.path, b.path) })
				*leaves = append(*leaves, m...)
				continue
			}
			flatten(path+".", v.Document(), users, leaves)
			continue
		case bson.TypeArray:
			*leaves = append(*leaves, leaf{path, "array", ""})
			flatten(path+".", bson.Raw(v.Array()), users, leaves)
			continue
		}
		l := leaf{path, v.Type.String(), v.String()}
		s, isString := v.StringValueOK()
		switch {
		case v.Type == bson.TypeDateTime, volatile[key], key == "seq" && strings.Contains(prefix, "assigned."):
			l.value = ""
		case isString && strings.HasPrefix(s, "enc:"):
			l.value = "enc:…"
		case isString && users[s] != "":
			l.value = users[s]
		}
		*leaves = append(*leaves, l)
	}
}

// paths returns the leaves' paths, in order.
func paths(ls []leaf) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.path
	}
	return out
}
