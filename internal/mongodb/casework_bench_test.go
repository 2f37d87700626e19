package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// BenchmarkCaseList measures a page of an organisation's case list (50 cases, the query a
// supervisor's console makes) against reading one case by id, at realistic sizes, in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench CaseList -benchtime 2s
//
// On the embedded database both scan (see README "Database modes"), so the ratio and the absolute
// figures say up to which size the embedded default serves a team well.
func BenchmarkCaseList(b *testing.B) {
	for _, size := range []int{500, 2000} {
		b.Run(fmt.Sprintf("cases=%d", size), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b).Casework(caseworkRing(b, caseworkKey("k1", 1)))
			now := time.Now().UTC().Truncate(time.Millisecond)
			var ids []string
			for i := range size {
				c := casework.Case{ID: uuid.Must(uuid.NewV7()).String(), OrgID: fmt.Sprintf("org-%d", i%4), ReferenceNumber: fmt.Sprintf("REF-%d", i),
					Child:     casework.Child{Pseudonym: fmt.Sprintf("Child %d", i), AgeBand: protocol.Age6To11},
					CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, CaseworkerIDs: []string{fmt.Sprintf("cw-%d", i%20)},
					Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, CreatedBy: "bench", Version: 1}
				if err := store.CreateCase(ctx, c); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, c.ID)
			}
			var listTime, getTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				page, err := store.ListCases(ctx, casework.StoreFilter{OrgID: "org-1", Status: casework.StatusOpen}, "", 50)
				if err != nil || len(page) != 50 {
					b.Fatalf("list: %d, %v", len(page), err)
				}
				listTime += time.Since(t0)
				t0 = time.Now()
				if _, err := store.Case(ctx, ids[(i*7919)%len(ids)]); err != nil {
					b.Fatal(err)
				}
				getTime += time.Since(t0)
			}
			b.ReportMetric(float64(listTime.Microseconds())/float64(b.N)/1000, "list_ms")
			b.ReportMetric(float64(getTime.Microseconds())/float64(b.N)/1000, "get_ms")
			b.ReportMetric(float64(listTime)/float64(getTime), "list/get")
		})
	}
}
