package mongodb_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// BenchmarkAuditListScale measures pages of 50 of one organisation's audit log (first page, one
// actor, one case, a time range) against reading one entry by id, in the same run, at the sizes of
// AUDIT_BENCH_SIZES (default 10000,100000 entries):
//
//	go test ./internal/mongodb -run '^$' -bench AuditListScale -benchtime 20x
func BenchmarkAuditListScale(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if s := os.Getenv("AUDIT_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
		}
	}
	for _, size := range sizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ctx := context.Background()
			store := openAudit(b)
			seedAudit(b, store, "org", size)
			filters := []struct {
				name string
				f    audit.Filter
			}{
				{"first", audit.Filter{}},
				{"actor", audit.Filter{ActorID: "u-1"}},
				{"case", audit.Filter{ResourceType: "case", ResourceID: "c-2"}},
				{"since", audit.Filter{Since: auditStart.Add(time.Duration(size/2) * time.Second)}},
			}
			took := make([]time.Duration, len(filters))
			var byID time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, f := range filters {
					t0 := time.Now()
					page, err := store.List(ctx, "org", f.f, int64(i*37%size), 50)
					if err != nil || len(page) == 0 {
						b.Fatalf("%s: %d, %v", f.name, len(page), err)
					}
					took[j] += time.Since(t0)
				}
				t0 := time.Now()
				if _, ok, err := store.Entry(ctx, "org", int64(1+i*7919%size)); err != nil || !ok {
					b.Fatal(ok, err)
				}
				byID += time.Since(t0)
			}
			for j, f := range filters {
				b.ReportMetric(float64(took[j].Microseconds())/float64(b.N)/1000, f.name+"_ms")
			}
			b.ReportMetric(float64(byID.Microseconds())/float64(b.N)/1000, "by_id_ms")
			b.ReportMetric(float64(took[0])/float64(byID), "first/by_id")
		})
	}
}
