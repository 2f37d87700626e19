package mongodb_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// storedOpenWork reads orgID's open work from the database itself (no snapshot): what OpenWork
// must answer.
func storedOpenWork(t *testing.T, store *mongodb.CaseworkStore, orgID string) casework.OpenWork {
	t.Helper()
	ctx := context.Background()
	cases, err := store.ListCaseSummaries(ctx, casework.StoreFilter{OrgID: orgID, Status: casework.StatusOpen}, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	var runs []casework.Run
	if len(ids) > 0 {
		if runs, err = store.ListRunProgress(ctx, orgID, ids); err != nil {
			t.Fatal(err)
		}
	}
	return casework.OpenWork{Cases: cases, Runs: runs}
}

// wantOpenWork checks that store's OpenWork of orgID equals what is stored and returns it.
func wantOpenWork(t *testing.T, what string, store *mongodb.CaseworkStore, orgID string, truth *mongodb.CaseworkStore) casework.OpenWork {
	t.Helper()
	got, err := store.OpenWork(context.Background(), orgID)
	if err != nil {
		t.Fatalf("%s: OpenWork: %v", what, err)
	}
	if want := storedOpenWork(t, truth, orgID); !reflect.DeepEqual(emptyAsNil(got), emptyAsNil(want)) {
		t.Fatalf("%s: OpenWork\n got %+v\nwant %+v", what, got, want)
	}
	return got
}

// emptyAsNil makes w's empty lists nil (the lists' own reads answer empty ones).
func emptyAsNil(w casework.OpenWork) casework.OpenWork {
	if len(w.Cases) == 0 {
		w.Cases = nil
	}
	if len(w.Runs) == 0 {
		w.Runs = nil
	}
	return w
}

func openCase(w casework.OpenWork, id string) (casework.Case, bool) {
	i := slices.IndexFunc(w.Cases, func(c casework.Case) bool { return c.ID == id })
	if i < 0 {
		return casework.Case{}, false
	}
	return w.Cases[i], true
}

func openRun(w casework.OpenWork, id string) (casework.Run, bool) {
	i := slices.IndexFunc(w.Runs, func(r casework.Run) bool { return r.ID == id })
	if i < 0 {
		return casework.Run{}, false
	}
	return w.Runs[i], true
}

func TestOpenWorkReflectsEveryWrite(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	flags := f.db.CaseFlags(caseworkRing(t, caseworkKey("k1", 1)))
	wantOpenWork(t, "no case", f.store, "org-a", f.store) // the snapshot exists before every write below

	var c, other casework.Case
	var run casework.Run
	steps := []struct {
		name  string
		write func(t *testing.T)
		check func(w casework.OpenWork) bool
	}{
		{"open a case", func(t *testing.T) { c = f.create(cwAlice, newCase()) },
			func(w casework.OpenWork) bool {
				got, ok := openCase(w, c.ID)
				return ok && slices.Equal(got.CaseworkerIDs, []string{"u-alice"})
			}},
		{"assign a second caseworker", func(t *testing.T) {
			ids := []string{"u-alice", "u-bob"}
			var err error
			if c, err = f.svc.Update(f.ctx, cwSup, c.ID, casework.CaseUpdate{CaseworkerIDs: &ids}, c.Version); err != nil {
				t.Fatal(err)
			}
		}, func(w casework.OpenWork) bool {
			got, _ := openCase(w, c.ID)
			return slices.Equal(got.CaseworkerIDs, []string{"u-alice", "u-bob"})
		}},
		{"start a run", func(t *testing.T) { run = f.startRun(cwAlice, c.ID) },
			func(w casework.OpenWork) bool { r, ok := openRun(w, run.ID); return ok && len(r.Records) == 0 }},
		{"record a step", func(t *testing.T) {
			f.record(cwAlice, c, run, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: "s1"})
		}, func(w casework.OpenWork) bool {
			r, _ := openRun(w, run.ID)
			return len(r.Records) == 1 && r.Records[0].StepID == "safety"
		}},
		{"raise a flag", func(t *testing.T) {
			if err := flags.CreateFlag(f.ctx, caseflag.Flag{ID: uuid.NewString(), OrgID: "org-a", CaseID: c.ID, Kind: caseflag.KindAcute,
				Reason: "r", RaisedBy: "u-sup", RaisedAt: f.clock.Now(), Version: 1}); err != nil {
				t.Fatal(err)
			}
		}, func(w casework.OpenWork) bool {
			got, _ := openCase(w, c.ID)
			return slices.Equal(got.Flags, []string{string(caseflag.KindAcute)})
		}},
		{"open a second case", func(t *testing.T) { other = f.create(cwBob, newCase()) },
			func(w casework.OpenWork) bool { return len(w.Cases) == 2 }},
		{"close the first case", func(t *testing.T) {
			var err error
			if c, err = f.svc.Close(f.ctx, cwAlice, c.ID, "done", c.Version); err != nil {
				t.Fatal(err)
			}
		}, func(w casework.OpenWork) bool {
			_, open := openCase(w, c.ID)
			_, hasRun := openRun(w, run.ID)
			return !open && !hasRun && len(w.Cases) == 1
		}},
		{"reopen it (its run and record come back)", func(t *testing.T) {
			var err error
			if c, err = f.svc.Reopen(f.ctx, cwSup, c.ID, "new disclosure", c.Version); err != nil {
				t.Fatal(err)
			}
		}, func(w casework.OpenWork) bool {
			r, ok := openRun(w, run.ID)
			_, open := openCase(w, c.ID)
			return open && ok && len(r.Records) == 1
		}},
		{"record a second step", func(t *testing.T) {
			f.record(cwAlice, c, run, casework.NewStepRecord{StepID: "interpreter", Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: "s2"})
		}, func(w casework.OpenWork) bool { r, _ := openRun(w, run.ID); return len(r.Records) == 2 }},
		{"a case of another organisation", func(t *testing.T) { f.create(cwAliceB, newCase()) },
			func(w casework.OpenWork) bool { return len(w.Cases) == 2 }},
		{"close the second case", func(t *testing.T) {
			if _, err := f.svc.Close(f.ctx, cwBob, other.ID, "done", other.Version); err != nil {
				t.Fatal(err)
			}
		}, func(w casework.OpenWork) bool { _, open := openCase(w, other.ID); return !open && len(w.Cases) == 1 }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write(t)
			if w := wantOpenWork(t, st.name, f.store, "org-a", f.store); !st.check(w) {
				t.Fatalf("%s: not shown: %+v", st.name, w)
			}
		})
	}
	t.Run("the answer is a copy", func(t *testing.T) {
		w := wantOpenWork(t, "before", f.store, "org-a", f.store)
		w.Cases[0].CaseworkerIDs[0] = "changed"
		w.Runs[0].Records[0].StepID = "changed"
		wantOpenWork(t, "after changing the answer", f.store, "org-a", f.store)
	})
}

// TestOpenWorkWaitsForWritesInFlight: a write whose number was taken before a later write ended is
// not skipped once it ends (the snapshot keeps below ChangeWatermark, not the last number).
func TestOpenWorkWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	wantOpenWork(t, "one case", f.store, "org-a", f.store)

	seq, done, err := f.db.BeginChange(f.ctx, "org-a") // a write of c starts, and takes its number...
	if err != nil {
		t.Fatal(err)
	}
	later := f.create(cwBob, newCase()) // ...while a later write ends first
	w := wantOpenWork(t, "a later write ended", f.store, "org-a", f.store)
	if _, ok := openCase(w, later.ID); !ok {
		t.Fatalf("the later case is not shown: %+v", w)
	}
	closeRaw(t, f.store, c.ID, seq)
	done()
	w = wantOpenWork(t, "the earlier write ended", f.store, "org-a", f.store)
	if _, open := openCase(w, c.ID); open {
		t.Fatalf("the case closed by the write in flight is still shown: %+v", w)
	}
}

// closeRaw closes case id in the database with change number seq, as a write that took seq would.
func closeRaw(t *testing.T, store *mongodb.CaseworkStore, id string, seq int64) {
	t.Helper()
	if _, err := store.RawCasesCollection().UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: string(casework.StatusClosed)}, {Key: "change_seq", Value: seq}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestOpenWorkSeesOtherInstances: two instances (connections with their own snapshots and change
// trackers) on one database each see the other's writes at once, including a write of the other
// instance that was in flight while later writes ended.
func TestOpenWorkSeesOtherInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := dbtest.OpenInstances(t, 2)
	ring := caseworkRing(t, caseworkKey("k1", 1))
	clock := &testClock{now: caseworkStart}
	var stores []*mongodb.CaseworkStore
	var svcs []*casework.Service
	for _, db := range dbs {
		db.SetChangeSettle(30*time.Second, true)
		db.SetChangeClock(clock.Now)
		store := db.Casework(ring)
		protocols := &caseworkProtocols{}
		protocols.publish(caseworkDoc())
		stores = append(stores, store)
		svcs = append(svcs, casework.NewService(store, protocols, &caseworkEvents{}, clock.Now))
	}
	a, b := stores[0], stores[1]
	wantOpenWork(t, "nothing yet", b, "org-a", a)

	c, _, err := svcs[0].Create(ctx, cwAlice, newCase())
	if err != nil {
		t.Fatal(err)
	}
	if w := wantOpenWork(t, "a case opened on the other instance", b, "org-a", a); len(w.Cases) != 1 {
		t.Fatalf("%+v", w)
	}
	run, _, err := svcs[0].StartRun(ctx, cwAlice, c.ID, uuid.NewString(), caseworkProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svcs[0].RecordStep(ctx, cwAlice, c.ID, run.ID, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone,
		RecordedAt: clock.Now(), ClientID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if w := wantOpenWork(t, "a run and record on the other instance", b, "org-a", a); len(w.Runs) != 1 || len(w.Runs[0].Records) != 1 {
		t.Fatalf("%+v", w)
	}
	clock.Advance(31 * time.Second) // what b saw so far has settled: its watermark moves up

	seq, done, err := dbs[0].BeginChange(ctx, "org-a") // a write on a, in flight...
	if err != nil {
		t.Fatal(err)
	}
	later, _, err := svcs[1].Create(ctx, cwBob, newCase()) // ...while b writes and ends first
	if err != nil {
		t.Fatal(err)
	}
	if w := wantOpenWork(t, "b's own write", b, "org-a", a); len(w.Cases) != 2 {
		t.Fatalf("%+v", w)
	}
	clock.Advance(time.Second)
	closeRaw(t, a, c.ID, seq)
	done()
	w := wantOpenWork(t, "a's write that was in flight", b, "org-a", a)
	if _, open := openCase(w, c.ID); open {
		t.Fatalf("the case a closed is still shown on b: %+v", w)
	}
	if _, open := openCase(w, later.ID); !open {
		t.Fatalf("b's case is not shown: %+v", w)
	}
	wantOpenWork(t, "a sees b's write", a, "org-a", a)
}

// TestOpenWorkConcurrent reads the open work while cases are opened, closed and recorded on from
// several goroutines (run with -race), then checks the snapshot against the database.
func TestOpenWorkConcurrent(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 4 {
				c, _, err := f.svc.Create(f.ctx, cwAlice, newCase())
				if err == nil {
					_, _, err = f.svc.StartRun(f.ctx, cwAlice, c.ID, uuid.NewString(), caseworkProtocolID)
				}
				if err == nil && (g+i)%2 == 0 {
					_, err = f.svc.Close(f.ctx, cwAlice, c.ID, "done", c.Version)
				}
				if err == nil {
					_, err = f.store.OpenWork(f.ctx, "org-a")
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
	if w := wantOpenWork(t, "after concurrent writes", f.store, "org-a", f.store); len(w.Cases) != 8 || len(w.Runs) != 8 {
		t.Fatalf("%d open cases, %d runs; want 8 and 8", len(w.Cases), len(w.Runs))
	}
}

// TestOpenWorkBoundsOrganisations: at most 64 organisations' snapshots are kept.
func TestOpenWorkBoundsOrganisations(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	tests := []struct {
		orgs, want int
	}{{10, 10}, {64, 64}, {70, 64}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.orgs), func(t *testing.T) {
			for i := range tt.orgs {
				if _, err := f.store.OpenWork(f.ctx, fmt.Sprintf("org-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.db.OpenWorkCachedOrgs(); got != tt.want {
				t.Fatalf("%d organisations cached, want %d", got, tt.want)
			}
		})
	}
	wantOpenWork(t, "an evicted organisation is read again", f.store, "org-0", f.store)
}
