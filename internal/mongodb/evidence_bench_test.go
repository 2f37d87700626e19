package mongodb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
)

// benchInt reads a tuning knob from the environment.
func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkEvidenceAppend measures custody-event appends per second (Service.Append: access check,
// item read, retry check by event id, group-committed chaining with hashes, change sequence numbers,
// ordered insert, event-id index, signed head update) against plain InsertOne calls of the same
// event documents into another collection of the same database, with the same number of concurrent
// writers, alternating in rounds in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench EvidenceAppend -benchtime 1x
//
// EVIDENCE_BENCH_WRITERS (16), EVIDENCE_BENCH_EVENTS (events per round and side, 1200) and
// EVIDENCE_BENCH_ROUNDS (3) tune it. The case access check is in memory; the audit recorder is in
// memory (audit=false) or the real hash-chained audit log in the same database (audit=true).
func BenchmarkEvidenceAppend(b *testing.B) {
	writers := benchInt("EVIDENCE_BENCH_WRITERS", 16)
	perRound := benchInt("EVIDENCE_BENCH_EVENTS", 1200)
	rounds := benchInt("EVIDENCE_BENCH_ROUNDS", 3)
	for _, withAudit := range []bool{false, true} {
		b.Run(fmt.Sprintf("audit=%v", withAudit), func(b *testing.B) { benchmarkAppend(b, writers, perRound, rounds, withAudit) })
	}
}

func benchmarkAppend(b *testing.B, writers, perRound, rounds int, withAudit bool) {
	for range b.N {
		f := newEvidenceFixture(b)
		// Checkpoints as the API makes them: of every chain's new head, and of the audit log.
		signer, err := checkpoint.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)))
		if err != nil {
			b.Fatal(err)
		}
		keeper := checkpoint.NewKeeper(f.db.Checkpoints(), signer, nil)
		f.svc.WithCheckpoints(keeper)
		if withAudit {
			log := audit.NewService(f.db.Audit(), time.Now).WithCheckpoints(keeper, audit.DefaultCheckpointInterval)
			f.svc = evidence.NewService(f.store, evidenceCases{caseID: f.caseID}, log, f.signer, nil).WithCheckpoints(keeper)
		}
		it := f.phone(b)
		plain := f.store.RawEventsCollection().Database().Collection("bench_plain_inserts")
		var appendTime, insertTime time.Duration
		appended := 0
		for round := range rounds {
			// Appends.
			var next atomic.Int64
			var mu sync.Mutex
			var stored []evidence.Event
			start := time.Now()
			run(writers, func() {
				for next.Add(1) <= int64(perRound) {
					a, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(),
						Type: evidence.EventAccessed, RecordedAt: time.Now(), Purpose: "bench", Place: "lab bench 2"})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					stored = append(stored, a.Event)
					mu.Unlock()
				}
			})
			appendTime += time.Since(start)
			appended += len(stored)
			// The same documents, plain inserts.
			var docs []bson.Raw
			cur, err := f.store.RawEventsCollection().Find(f.ctx, bson.D{{Key: "item_id", Value: it.ID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: stored[0].Seq - 1}}}})
			if err != nil {
				b.Fatal(err)
			}
			for cur.Next(f.ctx) {
				d := bson.Raw(append([]byte(nil), cur.Current...))
				docs = append(docs, d)
			}
			var i atomic.Int64
			start = time.Now()
			run(writers, func() {
				for {
					n := i.Add(1) - 1
					if n >= int64(len(docs)) {
						return
					}
					var m bson.D
					if err := bson.Unmarshal(docs[n], &m); err != nil {
						b.Error(err)
						return
					}
					m[0].Value = fmt.Sprintf("%v-r%d", m[0].Value, round) // another _id, same document
					if _, err := plain.InsertOne(context.Background(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			insertTime += time.Since(start)
		}
		rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, "")
		if err != nil || !rep.OK || rep.Events != appended+1 {
			b.Fatalf("after the benchmark the chain does not verify: %+v %v", rep.FirstProblem, err)
		}
		appendRate := float64(appended) / appendTime.Seconds()
		insertRate := float64(appended) / insertTime.Seconds()
		b.ReportMetric(appendRate, "appends/s")
		b.ReportMetric(insertRate, "inserts/s")
		b.ReportMetric(appendRate/insertRate, "ratio")
	}
}

func run(n int, fn func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	wg.Wait()
}

// BenchmarkEvidenceVerify measures verifying one item's chain of EVIDENCE_BENCH_CHAIN (10,000)
// events (reading, decrypting and hashing every event, checking the head and its receipt):
//
//	go test ./internal/mongodb -run '^$' -bench EvidenceVerify -benchtime 3x
func BenchmarkEvidenceVerify(b *testing.B) {
	size := benchInt("EVIDENCE_BENCH_CHAIN", 10000)
	f := newEvidenceFixture(b)
	it := f.phone(b)
	var next atomic.Int64
	run(32, func() {
		for next.Add(1) < int64(size) {
			if _, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(),
				Type: evidence.EventAccessed, RecordedAt: time.Now(), Purpose: "bench", Note: "reviewed the seal"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ResetTimer()
	for range b.N {
		rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, "")
		if err != nil || !rep.OK || rep.Events != size {
			b.Fatalf("verify: %d events, %+v %v", rep.Events, rep.FirstProblem, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify")
}
