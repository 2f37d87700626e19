package mongodb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// A case written before case keys (its fields under the key ring) is read as it is, re-encrypted
// under a new case key by the migration to schema version 2 (a second run changes nothing), and
// unreadable once its key is destroyed: it reads as erased, not as an error.
func TestCaseKeysMigrationAndErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	ring := caseworkRing(t, caseworkKey("k1", 3))
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := casework.Case{ID: id, OrgID: "o1", Child: casework.Child{Pseudonym: "Legacy-Pseudonym-8812", AgeBand: protocol.AgeBand("6-11")},
		CaseTypes: []protocol.CaseType{"grooming"}, Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := db.Casework(ring).CreateCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Make it a case of before case keys: its pseudonym under the ring, no case key.
	legacy, err := ring.Encrypt(c.Child.Pseudonym, "case:"+id+":child.pseudonym")
	if err != nil {
		t.Fatal(err)
	}
	raw := db.Casework(ring).RawCasesCollection()
	keys := db.CaseKeys(ring).RawCaseKeysCollection()
	if _, err := raw.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "child.pseudonym", Value: legacy}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		t.Fatal(err)
	}
	read := func() casework.Case {
		t.Helper()
		got, err := db.Casework(caseworkRing(t, caseworkKey("k1", 3))).Case(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); got.Child.Pseudonym != c.Child.Pseudonym {
		t.Fatalf("legacy value read as %q", got.Child.Pseudonym)
	}
	schema := raw.Database().Collection("schema_version")
	stored := func() string {
		var d struct {
			Child struct {
				Pseudonym string `bson:"pseudonym"`
			} `bson:"child"`
		}
		if err := raw.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d.Child.Pseudonym
	}
	for run := range 2 {
		if _, err := schema.UpdateOne(ctx, bson.D{{Key: "_id", Value: "schema"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 1}}}}); err != nil {
			t.Fatal(err)
		}
		before := stored()
		if _, err := db.MigrateSchemaWithKeys(ctx, caseworkRing(t, caseworkKey("k1", 3))); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		after := stored()
		if !strings.HasPrefix(after, "enc:d1:") {
			t.Fatalf("run %d: the pseudonym is not under the case key: %q", run, after)
		}
		if run == 1 && after != before {
			t.Error("the second migration rewrote a migrated value")
		}
		if got := read(); got.Child.Pseudonym != c.Child.Pseudonym {
			t.Fatalf("run %d: migrated value read as %q", run, got.Child.Pseudonym)
		}
	}
	if err := db.Erasure(ring).EraseCase(ctx, "o1", id, now); err != nil {
		t.Fatal(err)
	}
	got := read()
	if !got.Erased || got.Child.Pseudonym != "" {
		t.Fatalf("the erased case reads %+v", got)
	}
	if _, err := ring.Decrypt(stored(), "case:"+id+":child.pseudonym"); err == nil {
		t.Error("the ring decrypts the erased value")
	}
	if err := db.Erasure(ring).EraseCase(ctx, "o1", id, now); err != nil {
		t.Errorf("erasing again: %v", err)
	}
}

// BenchmarkCaseKeyRead measures reading one case by id with its data key in memory (the hot path)
// and with an empty key memory (the first read after a start, or after 30 s: one more read by id):
//
//	go test ./internal/mongodb -run '^$' -bench CaseKeyRead -benchtime 2s
func BenchmarkCaseKeyRead(b *testing.B) {
	ctx := context.Background()
	db := dbtest.Open(b)
	spec := caseworkKey("k1", 5)
	store := db.Casework(caseworkRing(b, spec))
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := uuid.Must(uuid.NewV7()).String()
	if err := store.CreateCase(ctx, casework.Case{ID: id, OrgID: "o1", ReferenceNumber: "REF-1", Child: casework.Child{Pseudonym: "Child 1", AgeBand: protocol.Age6To11},
		CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		b.Fatal(err)
	}
	b.Run("key in memory", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.Case(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("key read and unwrapped", func(b *testing.B) {
		rings := make([]*fieldcrypt.KeyRing, 0, 64)
		for range 64 {
			rings = append(rings, caseworkRing(b, spec))
		}
		i := 0
		for b.Loop() {
			if _, err := db.Casework(rings[i%len(rings)]).Case(ctx, id); err != nil { // a fresh keeper for the first 64 reads
				b.Fatal(err)
			}
			i++
			if i%len(rings) == 0 {
				b.StopTimer()
				for j := range rings {
					rings[j] = caseworkRing(b, spec)
				}
				b.StartTimer()
			}
		}
	})
}
