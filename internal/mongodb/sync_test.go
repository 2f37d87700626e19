package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/idempotency"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// A number taken before its write commits holds the watermark below it until the write ends, even
// when later numbers are already written; a number from NextChangeSeq, whose writer never says when
// it is done, holds it for the settle time.
func TestChangeWatermark(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()
	watermark := func(want int64, when string) {
		t.Helper()
		if w, err := db.ChangeWatermark(ctx, "org-w"); err != nil || w != want {
			t.Fatalf("%s: watermark %d, %v; want %d", when, w, err, want)
		}
	}
	watermark(0, "no change yet")
	a, doneA, err := db.BeginChange(ctx, "org-w")
	if err != nil {
		t.Fatal(err)
	}
	b, doneB, err := db.BeginChange(ctx, "org-w")
	if err != nil {
		t.Fatal(err)
	}
	if a != 1 || b != 2 {
		t.Fatalf("numbers %d, %d", a, b)
	}
	watermark(0, "both in flight")
	doneB()
	watermark(0, "the later one written, the earlier still in flight")
	doneA()
	doneA() // twice is harmless
	watermark(2, "both written")
	if w, _ := db.ChangeWatermark(ctx, "org-other"); w != 0 {
		t.Errorf("another organisation's watermark: %d", w)
	}

	n, err := db.NextChangeSeq(ctx, "org-w")
	if err != nil || n != 3 {
		t.Fatalf("NextChangeSeq = %d, %v", n, err)
	}
	watermark(3, "NextChangeSeq is not tracked")
	c, _, err := db.BeginChange(ctx, "org-w") // done never called (a bug): held for the settle time only
	if err != nil || c != 4 {
		t.Fatalf("BeginChange = %d, %v", c, err)
	}
	watermark(3, "a number whose done was never called")
	db.SetChangeSettle(0, false)
	watermark(4, "after the settle time")
}

// With several instances, numbers other processes take are unknown here: the watermark lags every
// number by the settle time.
func TestChangeWatermarkSeveralInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	uri, name := dbtest.URI(t), dbtest.DatabaseName()
	connect := func() *mongodb.DB {
		d, err := mongodb.Connect(ctx, uri, name, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close(context.Background()) })
		return d
	}
	db, other := connect(), connect() // two instances on the same database
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	db.SetChangeClock(func() time.Time { return now })
	db.SetChangeSettle(time.Minute, true)
	watermark := func(want int64, when string) {
		t.Helper()
		if w, err := db.ChangeWatermark(ctx, "org-s"); err != nil || w != want {
			t.Fatalf("%s: watermark %d, %v; want %d", when, w, err, want)
		}
	}
	if _, err := other.NextChangeSeq(ctx, "org-s"); err != nil { // in flight on the other instance
		t.Fatal(err)
	}
	watermark(0, "a number the other instance took just now")
	now = now.Add(30 * time.Second)
	seq, done, err := other.BeginChange(ctx, "org-s")
	if err != nil || seq != 2 {
		t.Fatal(seq, err)
	}
	done()
	watermark(0, "30 s later")
	now = now.Add(31 * time.Second)
	watermark(1, "a minute after number 1 was seen")
	now = now.Add(time.Minute)
	watermark(2, "a minute after number 2 was seen")
}

// Every write of a case or a run stamps the next change number; cases keep who was assigned since
// when and who no longer is; the feeds list by number.
func TestSyncStampsEveryCaseworkWrite(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()
	keys := caseworkRing(t, caseworkKey("k1", 1))
	store, feeds := db.Casework(keys), db.Sync(keys)
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := casework.Case{ID: "01a21c00-0000-7000-8000-0000000000c1", OrgID: "org-s", ReferenceNumber: "R", Child: casework.Child{Pseudonym: "P", AgeBand: protocol.AgeUnder6},
		CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, CaseworkerIDs: []string{"u1"}, Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	seqOf := func(typ, id string) devicesync.Record {
		t.Helper()
		feed := feeds.RunFeed()
		if typ == devicesync.TypeCase {
			feed = feeds.CaseFeed()
		}
		recs, err := feed.Changes(ctx, devicesync.Query{OrgID: "org-s", UpToSeq: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.ID == id {
				return r
			}
		}
		t.Fatalf("%s %s not in its feed", typ, id)
		return devicesync.Record{}
	}
	steps := []struct {
		name  string
		write func() error
		typ   string
		id    string
		check func(devicesync.Record) string
	}{
		{"create case", func() error { return store.CreateCase(ctx, c) }, devicesync.TypeCase, c.ID, func(r devicesync.Record) string {
			if r.AssignedSince["u1"] != r.Seq || len(r.FormerIDs) != 0 {
				return "assignments after create"
			}
			return ""
		}},
		{"reassign case", func() error {
			c.CaseworkerIDs, c.Version = []string{"u1", "u2"}, 2
			return store.UpdateCase(ctx, c)
		}, devicesync.TypeCase, c.ID, func(r devicesync.Record) string {
			if r.AssignedSince["u1"] >= r.Seq || r.AssignedSince["u2"] != r.Seq {
				return "u1 keeps its number, u2 gets this one"
			}
			return ""
		}},
		{"unassign", func() error {
			c.CaseworkerIDs, c.Version = []string{"u2"}, 3
			return store.UpdateCase(ctx, c)
		}, devicesync.TypeCase, c.ID, func(r devicesync.Record) string {
			if len(r.FormerIDs) != 1 || r.FormerIDs[0] != "u1" {
				return "u1 is a former caseworker"
			}
			return ""
		}},
		{"start run", func() error {
			return store.CreateRun(ctx, casework.Run{ID: "01a21c00-0000-7000-8000-0000000000a1", OrgID: "org-s", CaseID: c.ID, ProtocolID: "p", ProtocolVersion: 1, StartedAt: now, Records: []casework.StepRecord{}})
		}, devicesync.TypeRun, "01a21c00-0000-7000-8000-0000000000a1", nil},
		{"append record", func() error {
			_, err := store.AppendStepRecord(ctx, "01a21c00-0000-7000-8000-0000000000a1", casework.StepRecord{StepID: "s", Status: casework.StepDone, RecordedAt: now, ReceivedAt: now, ClientID: "r1"})
			return err
		}, devicesync.TypeRun, "01a21c00-0000-7000-8000-0000000000a1", nil},
	}
	var last int64
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		r := seqOf(st.typ, st.id)
		if r.Seq <= last {
			t.Errorf("%s: change_seq %d, not above the previous write's %d", st.name, r.Seq, last)
		}
		last = r.Seq
		if st.check != nil {
			if msg := st.check(r); msg != "" {
				t.Errorf("%s: %s: %+v", st.name, msg, r)
			}
		}
	}
	if ids, err := feeds.CaseFeed().AssignedCaseIDs(ctx, "org-s", "u2"); err != nil || len(ids) != 1 {
		t.Errorf("u2's cases: %v, %v", ids, err)
	}
	if recs, _ := feeds.CaseFeed().Changes(ctx, devicesync.Query{OrgID: "org-s", UpToSeq: last, UserID: "u1"}); len(recs) != 1 {
		t.Errorf("the former caseworker's feed: %d cases", len(recs))
	}
	if recs, _ := feeds.RunFeed().Changes(ctx, devicesync.Query{OrgID: "org-s", UpToSeq: last, CaseIDs: []string{}}); len(recs) != 0 {
		t.Errorf("no case ids: %d runs", len(recs))
	}
}

// Idempotency keys: the first claim wins, a completed key returns its response, a released one can
// be claimed again, expired ones are replaced and purged (encryption: TestSyncStoredResultsAreEncrypted).
func TestIdempotencyStore(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()
	s := db.Idempotency(caseworkRing(t, caseworkKey("k1", 1)))
	now := time.Now().UTC().Truncate(time.Millisecond)
	e := idempotency.Entry{ID: "k", Fingerprint: "f", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, claimed, err := s.Claim(ctx, e); err != nil || !claimed {
		t.Fatalf("first claim: %v %v", claimed, err)
	}
	if held, claimed, err := s.Claim(ctx, e); err != nil || claimed || held.Done {
		t.Fatalf("second claim while running: %+v %v %v", held, claimed, err)
	}
	if err := s.Complete(ctx, idempotency.Entry{ID: "k", Status: 201, ContentType: "application/json", Language: "fr", Body: []byte(`{"secret":"Otter-4471"}`)}); err != nil {
		t.Fatal(err)
	}
	held, claimed, err := s.Claim(ctx, e)
	if err != nil || claimed || !held.Done || held.Status != 201 || held.Language != "fr" || string(held.Body) != `{"secret":"Otter-4471"}` {
		t.Fatalf("after completion: %+v %v %v", held, claimed, err)
	}
	if err := s.Release(ctx, "k"); err != nil { // only a pending claim is released
		t.Fatal(err)
	}
	if held, claimed, err := s.Claim(ctx, e); err != nil || claimed || !held.Done {
		t.Fatalf("a completed entry after Release: %+v %v %v", held, claimed, err)
	}
	later := idempotency.Entry{ID: "k", Fingerprint: "g", CreatedAt: now.Add(2 * time.Hour), ExpiresAt: now.Add(3 * time.Hour)}
	if _, claimed, err := s.Claim(ctx, later); err != nil || !claimed {
		t.Errorf("claim after expiry: %v %v", claimed, err)
	}
	if err := s.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := s.Claim(ctx, later); !claimed {
		t.Error("claim after release")
	}
	if n, err := s.Purge(ctx, now.Add(4*time.Hour)); err != nil || n != 1 {
		t.Errorf("purge: %d %v", n, err)
	}
}
