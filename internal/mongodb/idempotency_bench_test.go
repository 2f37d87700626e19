package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/idempotency"
)

// BenchmarkIdempotencyRelease measures releasing a pending claim (what a refused or throttled
// request that carried an Idempotency-Key costs) among 20,000 kept entries (a day of a busy
// deployment's keyed writes): Release, against the same delete sent to FerretDB with its whole
// filter {_id, done: false}, which FerretDB answers by decoding every entry:
//
//	go test ./internal/mongodb -run '^$' -bench IdempotencyRelease -benchtime 10x
func BenchmarkIdempotencyRelease(b *testing.B) {
	db := dbtest.Open(b)
	ctx := context.Background()
	s := db.Idempotency(caseworkRing(b, caseworkKey("k1", 1)))
	coll := db.Collection("idempotency_keys")
	now := time.Now().UTC().Truncate(time.Millisecond)
	var docs []any
	for i := range 20_000 {
		docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("kept-%06d", i)}, {Key: "fingerprint", Value: "f"}, {Key: "done", Value: true},
			{Key: "status", Value: 201}, {Key: "created_at", Value: now}, {Key: "expires_at", Value: now.Add(time.Hour)}})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	releases := []struct {
		name    string
		release func(id string) error
	}{
		{"Release", func(id string) error { return s.Release(ctx, id) }},
		{"whole filter through FerretDB", func(id string) error {
			_, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "done", Value: false}})
			return err
		}},
	}
	for _, r := range releases {
		b.Run(r.name, func(b *testing.B) {
			b.StopTimer() // only the release is timed
			for i := range b.N {
				id := fmt.Sprintf("pending-%d", i)
				if _, claimed, err := s.Claim(ctx, idempotency.Entry{ID: id, Fingerprint: "f", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil || !claimed {
					b.Fatalf("claim: %v %v", claimed, err)
				}
				b.StartTimer()
				err := r.release(id)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
