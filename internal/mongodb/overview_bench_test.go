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

// BenchmarkOverviewReads measures the two reads of a supervisor's overview (the worklist) at 500
// open cases of one organisation, each with a protocol run holding three step records: the open
// cases' summaries and their runs' progress.
//
//	go test ./internal/mongodb -run '^$' -bench OverviewReads -benchtime 20x
func BenchmarkOverviewReads(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Open(b).Casework(caseworkRing(b, caseworkKey("k1", 1)))
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ids []string
	for i := range 500 {
		c := casework.Case{ID: uuid.Must(uuid.NewV7()).String(), OrgID: "org", ReferenceNumber: fmt.Sprintf("REF-%d", i),
			Child:     casework.Child{Pseudonym: fmt.Sprintf("Child %d", i), AgeBand: protocol.Age6To11},
			CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, CaseworkerIDs: []string{fmt.Sprintf("cw-%d", i%20)},
			Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, CreatedBy: "bench", Version: 1}
		if err := store.CreateCase(ctx, c); err != nil {
			b.Fatal(err)
		}
		r := casework.Run{ID: uuid.Must(uuid.NewV7()).String(), OrgID: "org", CaseID: c.ID, ProtocolID: "first-contact-safety", ProtocolVersion: 1,
			StartedAt: now, StartedBy: "bench"}
		for j, step := range []string{"a", "b", "c"} {
			r.Records = append(r.Records, casework.StepRecord{StepID: step, Status: casework.StepDone, Note: "A note", RecordedAt: now,
				ReceivedAt: now, ByUserID: "bench", ClientID: fmt.Sprintf("r-%d", j)})
		}
		if err := store.CreateRun(ctx, r); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var cases, runs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		open, err := store.ListCaseSummaries(ctx, casework.StoreFilter{OrgID: "org", Status: casework.StatusOpen}, "", 1000)
		if err != nil || len(open) != 500 {
			b.Fatalf("cases: %d, %v", len(open), err)
		}
		cases += time.Since(t0)
		t0 = time.Now()
		rs, err := store.ListRunProgress(ctx, "org", ids)
		if err != nil || len(rs) != 500 {
			b.Fatalf("runs: %d, %v", len(rs), err)
		}
		runs += time.Since(t0)
	}
	b.ReportMetric(float64(cases.Microseconds())/float64(b.N)/1000, "cases_ms")
	b.ReportMetric(float64(runs.Microseconds())/float64(b.N)/1000, "runs_ms")
}
