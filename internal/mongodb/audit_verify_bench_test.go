package mongodb_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

// BenchmarkAuditVerify measures, at two log sizes and in the same run, routine verification from the
// newest checkpoint when it lags the log by the most it can (audit.CheckpointEntries entries plus a
// group commit), a
// full verification, and one read of an entry by _id (the database's floor), and reports each in ms
// and routine verification as a multiple of the read by _id. Routine verification reads the
// checkpoint and the entries after it by _id, so its cost should not grow with the log; the full
// one reads everything.
//
//	go test ./internal/mongodb -run '^$' -bench AuditVerify -benchtime 1x
func BenchmarkAuditVerify(b *testing.B) {
	for _, size := range []int{5_000, 40_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ctx := context.Background()
			db := dbtest.Open(b)
			if err := db.EnsureIndexes(ctx); err != nil {
				b.Fatal(err)
			}
			store := db.Audit()
			seedAudit(b, store, "org", size)
			signer, err := checkpoint.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("b", ed25519.SeedSize))))
			if err != nil {
				b.Fatal(err)
			}
			keeper := checkpoint.NewKeeper(db.Checkpoints(), signer, nil)
			// Checkpoints every CheckpointEntries entries, the newest lagging the log by the most a
			// running service lets it: CheckpointEntries entries plus one group commit less one.
			lag := int64(audit.CheckpointEntries + audit.MaxBatch - 1)
			var seqs []int64
			for seq := int64(size) - lag; seq >= 1; seq -= audit.CheckpointEntries {
				seqs = append([]int64{seq}, seqs...)
			}
			for _, cp := range seqs {
				e, ok, err := store.Entry(ctx, "org", cp)
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				if _, err := keeper.Make(ctx, checkpoint.AuditLog("org"), cp, e.Hash); err != nil {
					b.Fatal(err)
				}
			}
			// A fresh keeper and service: nothing remembered, as after a restart.
			svc := audit.NewService(store, time.Now).WithCheckpoints(checkpoint.NewKeeper(db.Checkpoints(), signer, nil), time.Hour)
			var verify, full, byID time.Duration
			for b.Loop() {
				start := time.Now()
				r, err := svc.Verify(ctx, "org")
				verify += time.Since(start)
				if err != nil || !r.OK || r.Full || r.AfterCheckpoint != lag {
					b.Fatalf("Verify = %+v, %v", r, err)
				}
				start = time.Now()
				const reads = 50
				for range reads {
					if _, ok, err := store.Entry(ctx, "org", rand.Int64N(int64(size))+1); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
				byID += time.Since(start) / reads
				start = time.Now()
				if r, err := svc.VerifyFull(ctx, "org", nil); err != nil || !r.OK || r.Entries != size {
					b.Fatalf("VerifyFull = %+v, %v", r, err)
				}
				full += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(verify.Microseconds())/1000/n, "verify-ms")
			b.ReportMetric(float64(full.Microseconds())/1000/n, "full-ms")
			b.ReportMetric(float64(byID.Microseconds())/1000/n, "byid-ms")
			b.ReportMetric(float64(verify)/float64(byID), "verify/byid")
		})
	}
}
