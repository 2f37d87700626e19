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
	srv, err := ferret.Start(t.TempDir(), io.Discard)
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
	return srv.URI()
}

// DatabaseName returns a database name no other test uses.
func DatabaseName() string {
	return "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
}

// Open connects to a fresh database on URI(t) with indexes created, closed when t ends.
func Open(t testing.TB) *mongodb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := mongodb.Connect(ctx, URI(t), DatabaseName(), 10*time.Second)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	if err := db.EnsureIndexes(ctx); err != nil {
		t.Fatalf("creating indexes: %v", err)
	}
	return db
}
