package mongodb_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// A command-line tool attached to the running service (a second connection, with its own locks)
// answers its lookups from the service's tables (ReadFromTables): it sees what the service wrote,
// a lookup by username is an index search there, and its conditional writes stay conditional,
// checked by the server, both ways round with the service's writes.
func TestToolBesideTheServiceReadsTheTables(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("the embedded database's tables only")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := ferret.Start(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	name := dbtest.DatabaseName()
	connect := func() *mongodb.DB {
		t.Helper()
		db, err := mongodb.Connect(ctx, srv.URI(), name, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(context.Background()) })
		if err := db.EnsureIndexes(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	service := connect()
	if err := service.CreateCollections(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.IndexIDs(ctx); err != nil {
		t.Fatal(err)
	}
	serviceTables, err := srv.Tables(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serviceTables.Close() })
	if err := service.UseTables(ctx, serviceTables); err != nil {
		t.Fatal(err)
	}
	tool := connect()
	toolTables, err := ferret.OpenTables(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { toolTables.Close() })
	tool.ReadFromTables(toolTables)

	t0 := time.Now().UTC().Truncate(time.Millisecond)
	u := identity.User{ID: "attached-user", OrgID: "org-a", Username: "attached", DisplayName: "Attached", Roles: []identity.Role{identity.RoleAdmin},
		CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := service.Identity().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := tool.Identity().UserByUsername(ctx, "Attached")
	if err != nil || got.ID != u.ID {
		t.Fatalf("the tool reading the user the service wrote: %+v, %v", got, err)
	}
	if _, ok, err := tool.TablesPlan(ctx, "users", bson.D{{Key: "username", Value: "attached"}}, nil); err != nil || !ok {
		t.Fatalf("the tool's lookup by username is not answered from the tables (ok %v, %v)", ok, err)
	}
	if _, found, err := tool.Audit().Last(ctx, "org-without-entries"); err != nil || found {
		t.Fatalf("newest entry of an organisation without any: found %v, %v", found, err)
	}

	steps := []struct {
		name    string
		by      *mongodb.DB
		version int64
		want    error
	}{
		{"the service moves to version 2", service, 2, nil},
		{"the tool, still at version 1, is stale", tool, 2, identity.ErrStale},
		{"the tool at version 2 moves to 3", tool, 3, nil},
		{"the service, still at version 2, is stale", service, 3, identity.ErrStale},
	}
	for _, s := range steps {
		v := u
		v.Version, v.DisplayName = s.version, s.name
		if err := s.by.Identity().UpdateUser(ctx, v); !errors.Is(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	got, err = service.Identity().UserByID(ctx, "org-a", u.ID)
	if err != nil || got.Version != 3 || got.DisplayName != "the tool at version 2 moves to 3" {
		t.Fatalf("after the writes: %+v, %v", got, err)
	}
}
