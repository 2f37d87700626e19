package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/identity"
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

// BenchmarkCoachingReport measures the coaching report of the default 12 months over an
// organisation's five years of interview sessions (3,500, sent for review, each with its quality),
// against the same report computed from all of the organisation's sessions (the report's query
// before it read only its period) and a read of one session by id, in the same run:
//
//	go test ./internal/mongodb -run '^$' -bench CoachingReport -benchtime 20x
func BenchmarkCoachingReport(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Open(b).Interviews(caseworkRing(b, caseworkKey("k1", 1)))
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	const size = 3500
	step := 5 * 365 * 24 * time.Hour / size
	var ids []string
	for i := range size {
		started := now.Add(-time.Duration(i) * step).Truncate(time.Millisecond)
		s := testSession("org-1", uuid.Must(uuid.NewV7()).String(), started)
		s.InterviewerID = fmt.Sprint("u", i%12)
		s.StartedAt, s.SubmittedAt, s.Status = &started, &started, interview.StatusApproved
		s.Quality = &interview.Quality{Measures: interview.Measures{Prompts: 100, OpenPrompts: 40 + i%30,
			ByType: map[interview.PromptType]int{interview.PromptInvitation: 40 + i%30, interview.PromptDirective: 60 - i%30}},
			Flags: []interview.Flag{{Code: "required_phase_not_done", Severity: interview.SeverityMedium, PhaseID: "closing"}}}
		if err := store.CreateSession(ctx, s); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	svc, err := interview.NewService(store, nil, nil, discardEvents{}, nil, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	boss := identity.Principal{UserID: "sup", OrgID: "org-1", Roles: []identity.Role{identity.RoleSupervisor}}
	counted := []interview.Status{interview.StatusSubmitted, interview.StatusResubmitted, interview.StatusApproved}
	var reportTime, wholeTime, getTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rep, err := svc.Coaching(ctx, boss, "u1", "", "")
		if err != nil || rep.Total.Organisation.Sessions < size/6 || rep.Total.Organisation.Sessions > size/4 { // 11 months and 6 days
			b.Fatalf("report of %d sessions, %v", rep.Total.Organisation.Sessions, err)
		}
		reportTime += time.Since(t0)
		t0 = time.Now()
		if all, err := store.OrgSessions(ctx, interview.OrgFilter{OrgID: "org-1", Statuses: counted}); err != nil || len(all) != size {
			b.Fatalf("all sessions: %d, %v", len(all), err)
		}
		wholeTime += time.Since(t0)
		t0 = time.Now()
		if _, err := store.Session(ctx, ids[(i*7919)%len(ids)]); err != nil {
			b.Fatal(err)
		}
		getTime += time.Since(t0)
	}
	b.ReportMetric(float64(reportTime.Microseconds())/float64(b.N)/1000, "report_ms")
	b.ReportMetric(float64(wholeTime.Microseconds())/float64(b.N)/1000, "all_sessions_ms")
	b.ReportMetric(float64(getTime.Microseconds())/float64(b.N)/1000, "get_ms")
	b.ReportMetric(float64(reportTime)/float64(getTime), "report/get")
}
