package mongodb_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

type discardEvents struct{}

func (discardEvents) RecordEvent(context.Context, audit.Event) error { return nil }

// The coaching report, which reads what it counts of the sessions of its period from the store,
// counts exactly what a count over every session gives: sessions started (or, never started,
// created) on each side of the period's bounds, of several interviewers and statuses, with and
// without quality, and of another organisation. The store answers exactly the period's sessions the
// report counts.
func TestInterviewCoachingReportIsExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store := newInterviewStore(t)
	from, before := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	// Start (or creation) times around and inside the period, 1 ms either side of its bounds.
	times := []time.Time{from.Add(-time.Millisecond), from, from.Add(17 * 24 * time.Hour), time.Date(2026, 7, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 14, 9, 30, 0, 0, time.UTC), before.Add(-time.Millisecond), before,
		time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	statuses := []interview.Status{interview.StatusDraft, interview.StatusSubmitted, interview.StatusReturned, interview.StatusResubmitted, interview.StatusApproved}
	interviewers := []string{"u1", "u2", "u3"}
	flags := []string{"suggestive_prompts", "low_open_share", "required_phase_not_done"}
	var all []interview.Session
	for i := range 90 {
		org := "org-c"
		if i%11 == 10 {
			org = "org-elsewhere"
		}
		when := times[i%len(times)]
		s := testSession(org, "case-c", when)
		s.InterviewerID = interviewers[i%len(interviewers)]
		s.Status = statuses[(i/2)%len(statuses)]
		if i%4 != 3 { // started; otherwise counted by its creation time
			started := when
			s.StartedAt = &started
			s.CreatedAt = when.Add(-time.Duration(i%3) * 24 * time.Hour) // created in another month at times
			s.UpdatedAt = s.CreatedAt
		}
		if i%7 != 6 { // the rest have no quality recorded
			q := interview.Quality{Measures: interview.Measures{Prompts: 3 + i%9, OpenPrompts: i % 4}}
			for j := range i % 3 {
				q.Flags = append(q.Flags, interview.Flag{Code: flags[(i+j)%len(flags)], Severity: interview.SeverityMedium})
			}
			s.Quality = &q
		}
		if err := store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}

	// The independent count: every session, by the month it started (or was created).
	type counts struct {
		sessions, prompts, open int
		flags                   map[string]int
	}
	want := map[string]*[2]counts{} // month -> interviewer's, organisation's
	inPeriod := map[string]bool{}
	for _, s := range all {
		when := s.CreatedAt
		if s.StartedAt != nil {
			when = *s.StartedAt
		}
		counted := s.Status == interview.StatusSubmitted || s.Status == interview.StatusResubmitted || s.Status == interview.StatusApproved
		if s.OrgID != "org-c" || !counted || when.Before(from) || !when.Before(before) {
			continue
		}
		if s.Quality == nil {
			continue
		}
		inPeriod[s.ID] = true
		m := when.Format("2006-01")
		if want[m] == nil {
			want[m] = &[2]counts{{flags: map[string]int{}}, {flags: map[string]int{}}}
		}
		for k := range 2 {
			if k == 0 && s.InterviewerID != "u2" {
				continue
			}
			c := &want[m][k]
			c.sessions++
			c.prompts += s.Quality.Measures.Prompts
			c.open += s.Quality.Measures.OpenPrompts
			for _, f := range s.Quality.Flags {
				c.flags[f.Code]++
			}
		}
	}
	if len(inPeriod) < 10 || len(want) < 3 {
		t.Fatalf("the data do not exercise the report: %d sessions in the period, %d months", len(inPeriod), len(want))
	}

	t.Run("the store answers the period's counted sessions", func(t *testing.T) {
		list, err := store.OrgCoaching(ctx, "org-c", from, before)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, s := range list {
			got[s.ID] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(inPeriod) {
			t.Errorf("the period's query answered %d sessions, want %d", len(got), len(inPeriod))
		}
	})

	t.Run("the report equals the independent count", func(t *testing.T) {
		svc, err := interview.NewService(store, nil, nil, discardEvents{}, nil, func() time.Time { return time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) })
		if err != nil {
			t.Fatal(err)
		}
		boss := identity.Principal{UserID: "sup", OrgID: "org-c", Roles: []identity.Role{identity.RoleSupervisor}}
		rep, err := svc.Coaching(ctx, boss, "u2", "2026-06", "2026-09")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Months) != 4 {
			t.Fatalf("%d months", len(rep.Months))
		}
		check := func(what string, got interview.Figures, c counts) {
			t.Helper()
			if got.Sessions != c.sessions || got.Prompts != c.prompts || got.OpenPrompts != c.open || fmt.Sprint(got.Flags) != fmt.Sprint(c.flags) {
				t.Errorf("%s: %d sessions, %d prompts, %d open, flags %v; want %d, %d, %d, %v", what, got.Sessions, got.Prompts, got.OpenPrompts, got.Flags,
					c.sessions, c.prompts, c.open, c.flags)
			}
			switch {
			case c.prompts == 0 && got.OpenShare != nil:
				t.Errorf("%s: an open share without prompts", what)
			case c.prompts > 0 && (got.OpenShare == nil || math.Abs(*got.OpenShare-float64(c.open)/float64(c.prompts)) > 1e-12):
				t.Errorf("%s: open share %v, want %d/%d", what, got.OpenShare, c.open, c.prompts)
			}
		}
		total := [2]counts{{flags: map[string]int{}}, {flags: map[string]int{}}}
		for _, m := range rep.Months {
			w := want[m.Month]
			if w == nil { // a month with nothing counted
				w = &[2]counts{{flags: map[string]int{}}, {flags: map[string]int{}}}
			}
			check(m.Month+" interviewer", m.Interviewer, w[0])
			check(m.Month+" organisation", m.Organisation, w[1])
			for k := range 2 {
				total[k].sessions += w[k].sessions
				total[k].prompts += w[k].prompts
				total[k].open += w[k].open
				for code, n := range w[k].flags {
					total[k].flags[code] += n
				}
			}
		}
		check("total interviewer", rep.Total.Interviewer, total[0])
		check("total organisation", rep.Total.Organisation, total[1])
	})

}
