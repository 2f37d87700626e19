package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

// BenchmarkUsageCounts measures the usage counts of one protocol (runs per version, then the open
// cases among their cases) against reading one run by id, at realistic sizes, in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench UsageCounts -benchtime 20x
//
// Both queries scan on the embedded database (only an exact _id filter uses an index there).
func BenchmarkUsageCounts(b *testing.B) {
	for _, size := range []int{2000, 10000} {
		b.Run(fmt.Sprintf("runs=%d", size), func(b *testing.B) {
			ctx := context.Background()
			db := dbtest.Open(b)
			cw := db.Casework(caseworkRing(b, caseworkKey("k1", 1)))
			now := time.Now().UTC().Truncate(time.Millisecond)
			cases := make([]any, 0, size/4)
			caseIDs := make([]string, 0, size/4)
			for i := range size / 4 {
				id := uuid.Must(uuid.NewV7()).String()
				status := "open"
				if i%3 == 0 {
					status = "closed"
				}
				cases = append(cases, map[string]any{"_id": id, "org_id": "org", "status": status, "case_types": []string{"grooming"}, "updated_at": now})
				caseIDs = append(caseIDs, id)
			}
			if _, err := cw.RawCasesCollection().InsertMany(ctx, cases); err != nil {
				b.Fatal(err)
			}
			protocols := []string{"child-interview", "first-contact-safety", "digital-evidence", "medical-psychosocial-referral"}
			runs := make([]any, 0, size)
			var runID string
			for i := range size {
				runID = uuid.Must(uuid.NewV7()).String()
				runs = append(runs, map[string]any{"_id": runID, "org_id": "org", "case_id": caseIDs[i%len(caseIDs)],
					"protocol_id": protocols[i%len(protocols)], "protocol_version": 1 + i%3, "started_at": now, "records": []any{}})
			}
			if _, err := cw.RawRunsCollection().InsertMany(ctx, runs); err != nil {
				b.Fatal(err)
			}
			store := db.Authoring()
			var usageTime, countTime, getTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				counts, err := store.CountRuns(ctx, "org", "child-interview")
				if err != nil || len(counts) != 3 {
					b.Fatalf("counts: %+v, %v", counts, err)
				}
				countTime += time.Since(t0)
				var all []string
				for _, c := range counts {
					all = append(all, c.CaseIDs...)
				}
				if _, err := store.OpenCases(ctx, "org", all); err != nil {
					b.Fatal(err)
				}
				usageTime += time.Since(t0)
				t0 = time.Now()
				if _, err := cw.Run(ctx, runID); err != nil {
					b.Fatal(err)
				}
				getTime += time.Since(t0)
			}
			b.ReportMetric(float64(usageTime.Microseconds())/float64(b.N)/1000, "usage_ms")
			b.ReportMetric(float64(countTime.Microseconds())/float64(b.N)/1000, "count_runs_ms")
			b.ReportMetric(float64(getTime.Microseconds())/float64(b.N)/1000, "get_ms")
			b.ReportMetric(float64(usageTime)/float64(getTime), "usage/get")
		})
	}
}
