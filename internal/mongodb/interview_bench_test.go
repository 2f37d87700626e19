package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// BenchmarkInterviewQueue measures the review queue's read (an organisation's sessions waiting for
// review, the query behind the queue and, with other statuses, the coaching report) against reading
// one session and its log by id, at realistic sizes, in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench InterviewQueue -benchtime 20x
func BenchmarkInterviewQueue(b *testing.B) {
	for _, size := range []int{500, 2000} {
		b.Run(fmt.Sprintf("sessions=%d", size), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b).Interviews(caseworkRing(b, caseworkKey("k1", 1)))
			now := time.Now().UTC().Truncate(time.Millisecond)
			var ids []string
			queued := 0
			for i := range size {
				s := testSession(fmt.Sprintf("org-%d", i%4), uuid.Must(uuid.NewV7()).String(), now)
				if i%8 < 2 {
					s.Status, s.SubmittedAt = interview.StatusSubmitted, &now
					if i%4 == 1 {
						queued++
					}
				}
				if err := store.CreateSession(ctx, s); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, s.ID)
			}
			in := []interview.Status{interview.StatusSubmitted, interview.StatusResubmitted}
			var queueTime, pageTime, getTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				list, err := store.OrgSessions(ctx, interview.OrgFilter{OrgID: "org-1", Statuses: in})
				if err != nil || len(list) != queued {
					b.Fatalf("queue: %d, %v", len(list), err)
				}
				queueTime += time.Since(t0)
				t0 = time.Now()
				page, err := store.OrgSessions(ctx, interview.OrgFilter{OrgID: "org-1", Statuses: in, Queue: &interview.QueueCursor{Limit: 51}})
				if err != nil || len(page) != min(51, queued) {
					b.Fatalf("queue page: %d, %v", len(page), err)
				}
				pageTime += time.Since(t0)
				t0 = time.Now()
				id := ids[(i*7919)%len(ids)]
				if _, err := store.Session(ctx, id); err != nil {
					b.Fatal(err)
				}
				if _, err := store.Log(ctx, id); err != nil {
					b.Fatal(err)
				}
				getTime += time.Since(t0)
			}
			b.ReportMetric(float64(queueTime.Microseconds())/float64(b.N)/1000, "queue_ms")
			b.ReportMetric(float64(pageTime.Microseconds())/float64(b.N)/1000, "page_ms") // the review queue's page of 50 (and one)
			b.ReportMetric(float64(getTime.Microseconds())/float64(b.N)/1000, "get_ms")
			b.ReportMetric(float64(pageTime)/float64(getTime), "page/get")
			b.ReportMetric(float64(queueTime)/float64(getTime), "queue/get")
		})
	}
}
