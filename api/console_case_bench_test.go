package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkConsoleCasePage measures the server time of a full supervisor case page (the median of
// CONSOLE_BENCH_REQUESTS requests, default 21, one at a time, measured at the client on the
// loopback interface): a case with a protocol run whose first steps are overdue, three submitted
// interviews and CASE_BENCH_ITEMS evidence items (default 5) of five custody events each, in an
// organisation of ten caseworkers holding CASE_BENCH_CASES open cases (default 100,500). GET
// /v1/cases/{id} (one audited read) and the verify action run beside it for comparison.
//
//	go test ./api -run '^$' -bench ConsoleCasePage -benchtime 1x
func BenchmarkConsoleCasePage(b *testing.B) {
	sizes := benchSizes(b, "CASE_BENCH_CASES")
	requests, items := envInt("CONSOLE_BENCH_REQUESTS", 21), envInt("CASE_BENCH_ITEMS", 5)
	s := startServer(b, testEnv(b.TempDir(), map[string]string{"LOG_LEVEL": "warn"}), nil)
	defer s.stop()
	supervisor, workers := benchStaff(b, s.base, "case-bench-")
	cc := consoleSignIn(b, s.base, "case-bench-supervisor", benchPassword)

	// the measured case
	token := workers[0]
	caseID := uuid.Must(uuid.NewV7()).String()
	c := newCase(caseID, "Bench child")
	c["opened_at"] = time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
	benchJSON(b, s.base, http.MethodPost, "/v1/cases", token, c, http.StatusCreated)
	benchJSON(b, s.base, http.MethodPost, "/v1/cases/"+caseID+"/runs", token,
		map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "first-contact-safety"}, http.StatusCreated)
	for range 3 {
		benchInterview(b, s.base, token, caseID)
	}
	var item string
	for range items {
		item = uuid.Must(uuid.NewV7()).String()
		benchJSON(b, s.base, http.MethodPost, "/v1/cases/"+caseID+"/evidence", token, newPhone(item), http.StatusCreated)
		for _, e := range []map[string]any{
			event("sealed", map[string]any{"seal_number": "S-1", "seal_intact": true}),
			event("transferred", map[string]any{"from": map[string]any{"name": "Officer A", "organisation": "Police"},
				"to": map[string]any{"name": "R. Okafor", "organisation": "Forensic Lab"}, "purpose": "Extraction", "place": "Station"}),
			event("received", map[string]any{"performed_by": map[string]any{"name": "R. Okafor", "organisation": "Forensic Lab"}, "seal_number": "S-1", "seal_intact": true}),
			event("stored", nil),
		} {
			benchJSON(b, s.base, http.MethodPost, "/v1/cases/"+caseID+"/evidence/"+item+"/events", token, e, http.StatusCreated)
		}
	}

	fmt.Printf("\n| open cases | GET /v1/cases/{id} (one audited read) | case page (run, 3 interviews, %d items × 5 events) | verify one item |\n|---:|---:|---:|---:|\n", items)
	b.ResetTimer()
	created := 1
	for _, size := range sizes {
		b.StopTimer()
		for ; created < size; created++ {
			id := uuid.Must(uuid.NewV7()).String()
			benchJSON(b, s.base, http.MethodPost, "/v1/cases", workers[created%len(workers)], newCase(id, "Bench child"), http.StatusCreated)
		}
		b.StartTimer()
		median := func(get func() int) string {
			var ds []time.Duration
			for range requests {
				start := time.Now()
				if st := get(); st != http.StatusOK {
					b.Fatalf("status %d", st)
				}
				ds = append(ds, time.Since(start))
			}
			slices.Sort(ds)
			return fmt.Sprintf("%.1f ms", float64(ds[len(ds)/2].Microseconds())/1000)
		}
		read := median(func() int {
			return benchJSON(b, s.base, http.MethodGet, "/v1/cases/"+caseID, supervisor, nil, http.StatusOK)
		})
		page := median(func() int { return cc.get("/console/cases/" + caseID).status })
		verify := median(func() int { return cc.post("/console/cases/"+caseID+"/evidence/"+item+"/verify", nil).status })
		fmt.Printf("| %d | %s | %s | %s |\n", size, read, page, verify)
	}
}
