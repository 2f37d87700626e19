package mongodb_test

import (
	"context"
	"fmt"
	"reflect"
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

// BenchmarkCoachingReport measures the coaching report of the default 12 months, and of the longest
// period (36 months), over an organisation's five years of interview sessions (3,500, sent for review,
// each with its quality): from the snapshot in memory (InterviewStore.OrgCoaching, after) and from
// every session of the organisation read and decoded (before), with a read of one session by
// id, in the same run. The snapshot's first, full read is measured once, before the loop (first_ms):
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
	clock := func() time.Time { return now }
	snap, err := interview.NewService(store, nil, nil, discardEvents{}, nil, clock)
	if err != nil {
		b.Fatal(err)
	}
	decoded, err := interview.NewService(decodedCoaching{store}, nil, nil, discardEvents{}, nil, clock)
	if err != nil {
		b.Fatal(err)
	}
	boss := identity.Principal{UserID: "sup", OrgID: "org-1", Roles: []identity.Role{identity.RoleSupervisor}}
	report := func(svc *interview.Service, from string, lo, hi int) (interview.Report, time.Duration) {
		t0 := time.Now()
		rep, err := svc.Coaching(ctx, boss, "u1", from, "")
		if err != nil || rep.Total.Organisation.Sessions < lo || rep.Total.Organisation.Sessions > hi {
			b.Fatalf("report of %d sessions, %v", rep.Total.Organisation.Sessions, err)
		}
		return rep, time.Since(t0)
	}
	_, first := report(snap, "", size/6, size/4) // 11 months and 6 days
	var snapTime, decodedTime, snap36Time, decoded36Time, getTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, d := report(snap, "", size/6, size/4)
		snapTime += d
		was, d := report(decoded, "", size/6, size/4)
		decodedTime += d
		if !reflect.DeepEqual(a, was) {
			b.Fatalf("the snapshot's report differs:\n%+v\n%+v", a, was)
		}
		_, d = report(snap, "2024-01", size/2, size*3/4) // 35 months and 6 days
		snap36Time += d
		_, d = report(decoded, "2024-01", size/2, size*3/4)
		decoded36Time += d
		t0 := time.Now()
		if _, err := store.Session(ctx, ids[(i*7919)%len(ids)]); err != nil {
			b.Fatal(err)
		}
		getTime += time.Since(t0)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
	b.ReportMetric(float64(first.Microseconds())/1000, "first_ms")
	b.ReportMetric(ms(snapTime), "report_ms")
	b.ReportMetric(ms(decodedTime), "decoded_report_ms")
	b.ReportMetric(ms(snap36Time), "report36_ms")
	b.ReportMetric(ms(decoded36Time), "decoded_report36_ms")
	b.ReportMetric(ms(getTime), "get_ms")
	b.ReportMetric(float64(snapTime)/float64(getTime), "report/get")
	b.ReportMetric(float64(decodedTime)/float64(getTime), "decoded_report/get")
}
