package mongodb_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// decodedCoaching is the interview store with OrgCoaching answered as before the snapshot: every
// session of the organisation sent for review read and decoded, those of the period counted.
type decodedCoaching struct{ *mongodb.InterviewStore }

func (s decodedCoaching) OrgCoaching(ctx context.Context, orgID string, from, before time.Time) ([]interview.CoachingSession, error) {
	list, err := s.OrgSessions(ctx, interview.OrgFilter{OrgID: orgID,
		Statuses: interview.CoachingStatuses})
	if err != nil {
		return nil, err
	}
	out := []interview.CoachingSession{}
	for _, x := range list {
		if c, ok := interview.CoachingOf(x); ok && x.OrgID == orgID && !c.Started.Before(from) && c.Started.Before(before) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b interview.CoachingSession) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

var (
	coachingFrom   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	coachingBefore = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	coachingBoss   = identity.Principal{UserID: "sup", OrgID: "org-c", Roles: []identity.Role{identity.RoleSupervisor}}
)

// wantCoaching checks that store's snapshot answers org-c's 2026 sessions, and the report of
// interviewer u1 over them, exactly as reading every session of truth does, and returns the sessions.
func wantCoaching(t *testing.T, what string, store, truth *mongodb.InterviewStore) []interview.CoachingSession {
	t.Helper()
	ctx := context.Background()
	got, err := store.OrgCoaching(ctx, "org-c", coachingFrom, coachingBefore)
	if err != nil {
		t.Fatalf("%s: OrgCoaching: %v", what, err)
	}
	want, err := decodedCoaching{truth}.OrgCoaching(ctx, "org-c", coachingFrom, coachingBefore)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: OrgCoaching\n got %+v\nwant %+v", what, got, want)
	}
	clock := func() time.Time { return coachingBefore }
	snapSvc, err := interview.NewService(store, nil, nil, discardEvents{}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	decodedSvc, err := interview.NewService(decodedCoaching{truth}, nil, nil, discardEvents{}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, period := range [][2]string{{"2026-01", "2026-12"}, {"2026-03", "2026-05"}} {
		a, err := snapSvc.Coaching(ctx, coachingBoss, "u1", period[0], period[1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodedSvc.Coaching(ctx, coachingBoss, "u1", period[0], period[1])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: report %v\n got %+v\nwant %+v", what, period, a, b)
		}
	}
	return got
}

func coachingSession(list []interview.CoachingSession, id string) (interview.CoachingSession, bool) {
	i := slices.IndexFunc(list, func(x interview.CoachingSession) bool { return x.ID == id })
	if i < 0 {
		return interview.CoachingSession{}, false
	}
	return list[i], true
}

// sendForReview moves s to status with quality of prompts prompts (open of them open) and flag
// codes, as submitting, returning, resubmitting and approving do, and stores it.
func sendForReview(t *testing.T, store *mongodb.InterviewStore, s *interview.Session, status interview.Status, prompts, open int, flags ...string) {
	t.Helper()
	s.Status, s.Version = status, s.Version+1
	if status != interview.StatusReturned {
		q := interview.Quality{Measures: interview.Measures{Prompts: prompts, OpenPrompts: open}}
		for _, f := range flags {
			q.Flags = append(q.Flags, interview.Flag{Code: f, Severity: interview.SeverityMedium})
		}
		s.Quality = &q
		at := s.CreatedAt.Add(time.Hour)
		s.SubmittedAt = &at
	}
	if err := store.UpdateSession(context.Background(), *s); err != nil {
		t.Fatal(err)
	}
}

// TestCoachingSnapshotReflectsEveryWrite: after each write of a session's life (and of another
// organisation's, and a case's erasure) the snapshot answers what reading every session gives.
func TestCoachingSnapshotReflectsEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, store := newInterviewStore(t)
	wantCoaching(t, "no session", store, store) // the snapshot exists before every write below
	march := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s := testSession("org-c", "case-c", march)
	started := march.Add(time.Hour)
	var never interview.Session
	steps := []struct {
		name  string
		write func(t *testing.T)
		check func(list []interview.CoachingSession) bool
	}{
		{"create", func(t *testing.T) {
			if err := store.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}, func(l []interview.CoachingSession) bool { return len(l) == 0 }},
		{"submit", func(t *testing.T) {
			s.StartedAt = &started
			sendForReview(t, store, &s, interview.StatusSubmitted, 10, 4, "low_open_share")
		}, func(l []interview.CoachingSession) bool {
			x, ok := coachingSession(l, s.ID)
			return ok && x.Prompts == 10 && x.OpenPrompts == 4 && slices.Equal(x.Flags, []string{"low_open_share"})
		}},
		{"return", func(t *testing.T) { sendForReview(t, store, &s, interview.StatusReturned, 0, 0) },
			func(l []interview.CoachingSession) bool { _, ok := coachingSession(l, s.ID); return !ok }},
		{"resubmit", func(t *testing.T) { sendForReview(t, store, &s, interview.StatusResubmitted, 12, 9) },
			func(l []interview.CoachingSession) bool {
				x, ok := coachingSession(l, s.ID)
				return ok && x.Status == interview.StatusResubmitted && x.OpenPrompts == 9 && len(x.Flags) == 0
			}},
		{"approve", func(t *testing.T) { sendForReview(t, store, &s, interview.StatusApproved, 12, 9, "suggestive_prompts") },
			func(l []interview.CoachingSession) bool {
				x, _ := coachingSession(l, s.ID)
				return x.Status == interview.StatusApproved && slices.Equal(x.Flags, []string{"suggestive_prompts"})
			}},
		{"a session never started, counted by its creation", func(t *testing.T) {
			never = testSession("org-c", "case-c", time.Date(2026, 5, 31, 23, 59, 59, 0, time.UTC))
			never.InterviewerID = "u2"
			if err := store.CreateSession(ctx, never); err != nil {
				t.Fatal(err)
			}
			sendForReview(t, store, &never, interview.StatusSubmitted, 3, 3)
		}, func(l []interview.CoachingSession) bool {
			x, ok := coachingSession(l, never.ID)
			return ok && x.Started.Month() == time.May && len(l) == 2
		}},
		{"a session of another organisation", func(t *testing.T) {
			other := testSession("org-elsewhere", "case-e", march)
			if err := store.CreateSession(ctx, other); err != nil {
				t.Fatal(err)
			}
			sendForReview(t, store, &other, interview.StatusApproved, 5, 1)
		}, func(l []interview.CoachingSession) bool { return len(l) == 2 }},
		{"a shared copy received from another organisation", func(t *testing.T) {
			cp := testSession("org-c", "case-c2", march.AddDate(0, 1, 0))
			cp.Status, cp.SharedFrom = interview.StatusApproved, &interview.SharedFrom{ReferralID: "r1", OrgID: "org-elsewhere", SessionID: "x"}
			cp.Quality = &interview.Quality{Measures: interview.Measures{Prompts: 7, OpenPrompts: 2}}
			if err := store.CreateSession(ctx, cp); err != nil {
				t.Fatal(err)
			}
		}, func(l []interview.CoachingSession) bool { return len(l) == 3 }},
		{"erase the case", func(t *testing.T) {
			if err := db.Erasure(caseworkRing(t, caseworkKey("k1", 7))).EraseCase(ctx, "org-c", "case-c", march.AddDate(0, 6, 0)); err != nil {
				t.Fatal(err)
			}
		}, func(l []interview.CoachingSession) bool { return len(l) == 3 }},
		{"a bulk insert (the seed)", func(t *testing.T) {
			bulk := db.Bulk(caseworkRing(t, caseworkKey("k1", 7)))
			c := casework.Case{ID: uuid.NewString(), OrgID: "org-c", Status: casework.StatusOpen, CaseworkerIDs: []string{"u1"},
				CreatedAt: march, UpdatedAt: march, Version: 1}
			if err := bulk.Casework().CreateCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			seeded := testSession("org-c", c.ID, march.AddDate(0, 2, 0))
			seeded.StartedAt, seeded.Status = &seeded.CreatedAt, interview.StatusSubmitted
			seeded.Quality = &interview.Quality{Measures: interview.Measures{Prompts: 20, OpenPrompts: 11},
				Flags: []interview.Flag{{Code: "low_open_share", Severity: interview.SeverityMedium}}}
			if err := bulk.Interviews().CreateSession(ctx, seeded); err != nil {
				t.Fatal(err)
			}
			bulk.Done(c.ID)
			if err := bulk.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}, func(l []interview.CoachingSession) bool { return len(l) == 4 }},
		{"moved out of the period", func(t *testing.T) {
			later := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
			s.StartedAt = &later
			sendForReview(t, store, &s, interview.StatusApproved, 12, 9)
		}, func(l []interview.CoachingSession) bool { _, ok := coachingSession(l, s.ID); return !ok && len(l) == 3 }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write(t)
			if l := wantCoaching(t, st.name, store, store); !st.check(l) {
				t.Fatalf("%s: not shown: %+v", st.name, l)
			}
		})
	}
	t.Run("the answer is a copy", func(t *testing.T) {
		l := wantCoaching(t, "before", store, store)
		l[0].Flags = append(l[0].Flags[:0], "changed")
		l[1].Prompts = -1
		wantCoaching(t, "after changing the answer", store, store)
	})
}

// approveRaw stores session id as approved with quality of prompts prompts and change number seq, as
// a write that took seq would.
func approveRaw(t *testing.T, store *mongodb.InterviewStore, id string, prompts int, seq int64) {
	t.Helper()
	if _, err := store.RawSessionsCollection().UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: string(interview.StatusApproved)},
			{Key: "quality", Value: bson.D{{Key: "prompts", Value: prompts}, {Key: "open_prompts", Value: 1}, {Key: "flags", Value: bson.A{}}}},
			{Key: "change_seq", Value: seq}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestCoachingSnapshotWaitsForWritesInFlight: a write whose number was taken before a later write
// ended is not skipped once it ends.
func TestCoachingSnapshotWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, store := newInterviewStore(t)
	when := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	s := testSession("org-c", "case-c", when)
	if err := store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantCoaching(t, "one draft", store, store)

	seq, done, err := db.BeginChange(ctx, "org-c") // a write of s starts, and takes its number...
	if err != nil {
		t.Fatal(err)
	}
	later := testSession("org-c", "case-c", when)
	if err := store.CreateSession(ctx, later); err != nil { // ...while a later write ends first
		t.Fatal(err)
	}
	sendForReview(t, store, &later, interview.StatusSubmitted, 4, 2)
	if l := wantCoaching(t, "a later write ended", store, store); len(l) != 1 {
		t.Fatalf("the later session is not counted: %+v", l)
	}
	approveRaw(t, store, s.ID, 8, seq)
	done()
	if l := wantCoaching(t, "the earlier write ended", store, store); len(l) != 2 {
		t.Fatalf("the session approved by the write in flight is not counted: %+v", l)
	}
}

// TestCoachingSnapshotSeesOtherInstances: two instances (connections with their own snapshots and
// change trackers) on one database each see the other's writes at once, including a write of the
// other instance that was in flight while later writes ended.
func TestCoachingSnapshotSeesOtherInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := dbtest.OpenInstances(t, 2)
	ring := caseworkRing(t, caseworkKey("k1", 7))
	clock := &testClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	var stores []*mongodb.InterviewStore
	for _, db := range dbs {
		db.SetChangeSettle(30*time.Second, true)
		db.SetChangeClock(clock.Now)
		stores = append(stores, db.Interviews(ring))
	}
	a, b := stores[0], stores[1]
	wantCoaching(t, "nothing yet", b, a)
	when := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	s := testSession("org-c", "case-c", when)
	if err := a.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	sendForReview(t, a, &s, interview.StatusSubmitted, 6, 3)
	if l := wantCoaching(t, "a session submitted on the other instance", b, a); len(l) != 1 {
		t.Fatalf("%+v", l)
	}
	clock.Advance(31 * time.Second) // what b saw so far has settled: its watermark moves up

	draft := testSession("org-c", "case-c", when)
	if err := a.CreateSession(ctx, draft); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Second)
	wantCoaching(t, "a draft on the other instance", b, a)
	seq, done, err := dbs[0].BeginChange(ctx, "org-c") // a write on a, in flight...
	if err != nil {
		t.Fatal(err)
	}
	mine := testSession("org-c", "case-c", when)
	if err := b.CreateSession(ctx, mine); err != nil { // ...while b writes and ends first
		t.Fatal(err)
	}
	sendForReview(t, b, &mine, interview.StatusApproved, 9, 9)
	if l := wantCoaching(t, "b's own write", b, a); len(l) != 2 {
		t.Fatalf("%+v", l)
	}
	clock.Advance(time.Second)
	approveRaw(t, a, draft.ID, 5, seq)
	done()
	if l := wantCoaching(t, "a's write that was in flight", b, a); len(l) != 3 {
		t.Fatalf("the session a approved is not counted on b: %+v", l)
	}
	wantCoaching(t, "a sees b's write", a, a)
}

// TestCoachingSnapshotConcurrent reads coaching figures while sessions are created and sent for
// review from several goroutines (run with -race), then checks the snapshot against the database.
func TestCoachingSnapshotConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store := newInterviewStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 4 {
				s := testSession("org-c", "case-c", time.Date(2026, time.Month(1+g*3+i%3), 5, 0, 0, 0, 0, time.UTC))
				s.InterviewerID = fmt.Sprint("u", i%2)
				err := store.CreateSession(ctx, s)
				if err == nil && (g+i)%2 == 0 {
					s.Status, s.Version = interview.StatusSubmitted, 2
					s.Quality = &interview.Quality{Measures: interview.Measures{Prompts: 5 + i, OpenPrompts: i}}
					err = store.UpdateSession(ctx, s)
				}
				if err == nil {
					_, err = store.OrgCoaching(ctx, "org-c", coachingFrom, coachingBefore)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l := wantCoaching(t, "after concurrent writes", store, store); len(l) != 8 {
		t.Fatalf("%d sessions counted, want 8", len(l))
	}
}

// TestCoachingSnapshotBoundsOrganisations: at most 64 organisations' snapshots are kept.
func TestCoachingSnapshotBoundsOrganisations(t *testing.T) {
	t.Parallel()
	db, store := newInterviewStore(t)
	for i := range 70 {
		if _, err := store.OrgCoaching(context.Background(), fmt.Sprintf("org-%d", i), coachingFrom, coachingBefore); err != nil {
			t.Fatal(err)
		}
		if got, want := db.CoachingCachedOrgs(), min(i+1, 64); got != want {
			t.Fatalf("%d organisations cached, want %d", got, want)
		}
	}
	wantCoaching(t, "an evicted organisation is read again", store, store)
}

// TestCoachingSnapshotRereadsInFull: a change the sequence did not show (a document rewritten
// without a new number) is in the answer once the snapshot is ten minutes old, and not before.
func TestCoachingSnapshotRereadsInFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, store := newInterviewStore(t)
	clock := &testClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	db.SetCoachingClock(clock.Now)
	s := testSession("org-c", "case-c", time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC))
	if err := store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	sendForReview(t, store, &s, interview.StatusSubmitted, 10, 5)
	wantCoaching(t, "submitted", store, store)
	var raw struct {
		ChangeSeq int64 `bson:"change_seq"`
	}
	if err := store.RawSessionsCollection().FindOne(ctx, bson.D{{Key: "_id", Value: s.ID}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	approveRaw(t, store, s.ID, 30, raw.ChangeSeq) // the same number: not seen as a change
	tests := []struct {
		name    string
		advance time.Duration
		prompts int
	}{{"9 minutes later: the snapshot", 9 * time.Minute, 10}, {"10 minutes later: read in full", time.Minute, 30}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			l, err := store.OrgCoaching(ctx, "org-c", coachingFrom, coachingBefore)
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != 1 || l[0].Prompts != tt.prompts {
				t.Fatalf("%+v, want %d prompts", l, tt.prompts)
			}
		})
	}
	wantCoaching(t, "after the full read", store, store)
}
