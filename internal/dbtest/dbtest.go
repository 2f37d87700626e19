// Package dbtest gives tests a real MongoDB-compatible database: the server named by MONGODB_TEST_URI
// when it is set, otherwise an embedded FerretDB started for the test.
package dbtest

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// URI returns the connection string of a database server for t: MONGODB_TEST_URI, or an embedded
// server in a temporary folder that is stopped when t ends.
func URI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("MONGODB_TEST_URI"); uri != "" {
		return uri
	}
	return embedded(t).URI()
}

// embedded starts an embedded server in a temporary folder, stopped when t ends.
func embedded(t testing.TB) *ferret.Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil { // Start refuses a folder others may open
		t.Fatal(err)
	}
	srv, err := ferret.Start(dir, io.Discard)
	if err != nil {
		t.Fatalf("starting the embedded database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the embedded database: %v", err)
		}
	})
	return srv
}

// DatabaseName returns a database name no other test uses.
func DatabaseName() string {
	return "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
}

// Open connects to a fresh database with indexes created, closed when t ends: on MONGODB_TEST_URI, or
// on an embedded server set up as the service sets up its own (every collection created, with the
// _id lookup index of ferret.Server.IndexIDs), so that benchmarks measure what the service does.
func Open(t testing.TB) *mongodb.DB {
	t.Helper()
	return OpenInstances(t, 1)[0]
}

// OpenInstances is Open with n connections to the same fresh database, each with its own locks and
// caches, as n instances of the service (processes) would have.
func OpenInstances(t testing.TB, n int) []*mongodb.DB {
	t.Helper()
	ctx := context.Background()
	uri, srv := os.Getenv("MONGODB_TEST_URI"), (*ferret.Server)(nil)
	if uri == "" {
		srv = embedded(t)
		uri = srv.URI()
	}
	name := DatabaseName()
	var out []*mongodb.DB
	for i := range n {
		db, err := mongodb.Connect(ctx, uri, name, 10*time.Second)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		t.Cleanup(func() { db.Close(context.Background()) })
		if err := db.EnsureIndexes(ctx); err != nil {
			t.Fatalf("creating indexes: %v", err)
		}
		if srv != nil {
			if i == 0 {
				if err := db.CreateCollections(ctx); err != nil {
					t.Fatal(err)
				}
				if err := srv.IndexIDs(ctx); err != nil {
					t.Fatal(err)
				}
			}
			tables, err := srv.Tables(db.Name())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tables.Close() })
			if err := db.UseTables(ctx, tables); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, db)
	}
	return out
}
