package mongodb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

func openAudit(t testing.TB) *mongodb.AuditStore {
	t.Helper()
	db := dbtest.Open(t)
	return db.Audit()
}

// auditClock returns a now function starting at start and advancing by step on every call.
func auditClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := start.Add(-step)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

var auditStart = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func auditEntry(org string, i int) audit.Entry {
	return audit.Entry{OrgID: org, ActorID: fmt.Sprintf("u-%d", i%3), ActorRole: "caseworker", DeviceID: "d-1",
		Action: audit.ActionCaseRead, ResourceType: "case", ResourceID: fmt.Sprintf("c-%d", i%4),
		Outcome: audit.OutcomeSuccess, RequestID: fmt.Sprintf("r-%d", i)}
}

func recordAudit(t *testing.T, svc *audit.Service, org string, n int) []audit.Entry {
	t.Helper()
	out := make([]audit.Entry, 0, n)
	for i := range n {
		e, err := svc.Record(context.Background(), auditEntry(org, i))
		if err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
		out = append(out, e)
	}
	if err := svc.Flush(context.Background()); err != nil { // the head is moved
		t.Fatal(err)
	}
	return out
}

// appendOne stores e and moves the head to it, as a writer of another instance would.
func appendOne(ctx context.Context, store *mongodb.AuditStore, e audit.Entry) error {
	if err := store.AppendMany(ctx, []audit.Entry{e}); err != nil {
		return err
	}
	return store.MoveHead(ctx, e)
}

func auditHeads(s *mongodb.AuditStore) *mongo.Collection {
	return s.RawCollection().Database().Collection("audit_heads")
}

func rawID(org string, seq int64) string { return fmt.Sprintf("%s:%012d", org, seq) }

func TestAuditRecordAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	svc := audit.NewService(store, auditClock(auditStart.Add(1234567*time.Nanosecond), time.Second))

	if _, ok, err := store.Last(ctx, "org-a"); ok || err != nil {
		t.Fatalf("Last of an empty log = %v, %v", ok, err)
	}
	written := recordAudit(t, svc, "org-a", 5)
	recordAudit(t, svc, "org-b", 2)

	last, ok, err := store.Last(ctx, "org-a")
	if err != nil || !ok || last != written[4] {
		t.Fatalf("Last = %+v, %v, %v; want %+v", last, ok, err, written[4])
	}
	if e, ok, err := store.Entry(ctx, "org-a", 3); err != nil || !ok || e != written[2] {
		t.Fatalf("Entry(3) = %+v, %v, %v; want %+v", e, ok, err, written[2])
	}
	if _, ok, err := store.Entry(ctx, "org-a", 99); err != nil || ok {
		t.Fatalf("Entry(99) = %v, %v; want not found", ok, err)
	}
	if got := written[0].Time; !got.Equal(auditStart.Add(time.Millisecond)) || got.Location() != time.UTC {
		t.Fatalf("time %v, want %v in UTC (millisecond precision)", got, auditStart.Add(time.Millisecond))
	}
	var read []audit.Entry
	if err := store.Scan(ctx, "org-a", func(e audit.Entry) error { read = append(read, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(read, written) {
		t.Fatalf("Scan read\n%+v\nwant\n%+v", read, written)
	}
	stop := errors.New("stop")
	if err := store.Scan(ctx, "org-a", func(audit.Entry) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Scan did not return fn's error: %v", err)
	}
	for _, tc := range []struct {
		org  string
		want int
	}{{"org-a", 5}, {"org-b", 2}, {"org-none", 0}} {
		r, err := svc.Verify(ctx, tc.org)
		if err != nil || !r.OK || r.Entries != tc.want || r.FirstProblem != nil {
			t.Fatalf("Verify(%s) = %+v, %v", tc.org, r, err)
		}
	}
	if err := appendOne(ctx, store, written[2]); !errors.Is(err, audit.ErrSeqTaken) {
		t.Fatalf("append of a taken number = %v, want ErrSeqTaken", err)
	}
}

func TestAuditConcurrentRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances int // services sharing the database, like API instances: they race on the duplicate key
		perInst   int
	}{
		{"one instance with 50 goroutines", 1, 50},
		{"five instances with 10 goroutines each", 5, 10},
		{"three instances with 100 goroutines each", 3, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := openAudit(t)
			now := auditClock(auditStart, time.Millisecond)
			var wg sync.WaitGroup
			errs := make(chan error, tt.instances*tt.perInst)
			var services []*audit.Service
			for range tt.instances {
				svc := audit.NewService(store, now)
				services = append(services, svc)
				for i := range tt.perInst {
					wg.Go(func() {
						if _, err := svc.Record(ctx, auditEntry("org", i)); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Record: %v", err)
			}
			// Each service moves the stored head after answering; Flush waits for that.
			for _, svc := range services {
				if err := svc.Flush(ctx); err != nil {
					t.Fatalf("Flush: %v", err)
				}
			}
			total := tt.instances * tt.perInst
			var seqs []int64
			if err := store.Scan(ctx, "org", func(e audit.Entry) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			for i, s := range seqs {
				if s != int64(i+1) {
					t.Fatalf("seqs = %v, want 1..%d", seqs, total)
				}
			}
			if len(seqs) != total {
				t.Fatalf("%d entries, want %d", len(seqs), total)
			}
			r, err := audit.NewService(store, now).Verify(ctx, "org")
			if err != nil || !r.OK || r.Entries != total {
				t.Fatalf("Verify = %+v, %v", r, err)
			}
			var head struct{ Seq int64 }
			if err := auditHeads(store).FindOne(ctx, bson.D{{Key: "_id", Value: "org"}}).Decode(&head); err != nil || head.Seq != int64(total) {
				t.Fatalf("head = %+v, %v; want seq %d", head, err, total)
			}
		})
	}
}

// chainAfter returns n entries of org chained after prev (zero Entry: from the start).
func chainAfter(org string, prev audit.Entry, n int) []audit.Entry {
	seq, hash := prev.Seq+1, prev.Hash
	if prev.Seq == 0 {
		hash = audit.ZeroHash
	}
	out := make([]audit.Entry, 0, n)
	for i := range n {
		e := auditEntry(org, i)
		e.Seq, e.Time, e.PrevHash = seq, auditStart.Add(time.Duration(seq)*time.Millisecond), hash
		e.Hash = e.ComputeHash()
		out = append(out, e)
		seq, hash = seq+1, e.Hash
	}
	return out
}

func TestAuditAppendMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	first := chainAfter("org", audit.Entry{}, 3)
	if err := store.AppendMany(ctx, first); err != nil {
		t.Fatalf("AppendMany = %v", err)
	}
	if _, ok, err := store.Entry(ctx, "org", 3); err != nil || !ok {
		t.Fatalf("Entry(3) = %v, %v", ok, err)
	}
	if err := store.MoveHead(ctx, first[2]); err != nil {
		t.Fatal(err)
	}
	if head, ok, err := store.Last(ctx, "org"); err != nil || !ok || head != first[2] {
		t.Fatalf("Last = %+v, %v, %v; want entry 3", head, ok, err)
	}
	// Another writer takes number 6; a batch of 4, 5, 6, 7 stores 4 and 5 and stops at 6.
	batch := chainAfter("org", first[2], 4)
	if err := appendOne(ctx, store, batch[2]); err != nil {
		t.Fatal(err)
	}
	err := store.AppendMany(ctx, batch)
	var taken *audit.SeqTakenError
	if !errors.Is(err, audit.ErrSeqTaken) || !errors.As(err, &taken) || taken.Written != 2 || taken.Seq != 6 {
		t.Fatalf("AppendMany over a taken number = %v (%+v), want 2 written and seq 6 taken", err, taken)
	}
	for _, tc := range []struct {
		seq  int64
		want bool
	}{{4, true}, {5, true}, {6, true}, {7, false}} {
		if _, ok, err := store.Entry(ctx, "org", tc.seq); err != nil || ok != tc.want {
			t.Fatalf("Entry(%d) = %v, %v; want %v", tc.seq, ok, err, tc.want)
		}
	}
	if head, _, err := store.Last(ctx, "org"); err != nil || head.Seq != 6 {
		t.Fatalf("head = %+v, %v; want 6 (never moved back)", head, err)
	}
	// The first entry taken: nothing stored.
	err = store.AppendMany(ctx, chainAfter("org", first[2], 2))
	if !errors.As(err, &taken) || taken.Written != 0 || taken.Seq != 4 {
		t.Fatalf("AppendMany from a taken number = %v, want 0 written", err)
	}
	if err := store.AppendMany(ctx, nil); err != nil {
		t.Fatalf("AppendMany of nothing = %v", err)
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	store := openAudit(t)
	entries := store.RawCollection()
	tests := []struct {
		name   string
		tamper func(ctx context.Context, org string) error
		want   audit.Problem
	}{
		{"altered field", func(ctx context.Context, org string) error {
			_, err := entries.UpdateOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 4)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "resource_id", Value: "c-other"}}}})
			return err
		}, audit.Problem{Seq: 4, Kind: audit.ProblemHashMismatch}},
		{"altered time", func(ctx context.Context, org string) error {
			_, err := entries.UpdateOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 2)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "time", Value: auditStart}}}})
			return err
		}, audit.Problem{Seq: 2, Kind: audit.ProblemHashMismatch}},
		{"altered field with the hash recomputed", func(ctx context.Context, org string) error {
			var e audit.Entry
			if err := store.Scan(ctx, org, func(x audit.Entry) error {
				if x.Seq == 4 {
					e = x
				}
				return nil
			}); err != nil {
				return err
			}
			e.Outcome = audit.OutcomeDenied
			_, err := entries.UpdateOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 4)}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "outcome", Value: "denied"}, {Key: "hash", Value: e.ComputeHash()}}}})
			return err
		}, audit.Problem{Seq: 5, Kind: audit.ProblemBrokenLink}},
		{"newest entry altered with its hash recomputed", func(ctx context.Context, org string) error {
			var e audit.Entry
			if err := store.Scan(ctx, org, func(x audit.Entry) error { e = x; return nil }); err != nil {
				return err
			}
			e.ResourceID = "c-other"
			_, err := entries.UpdateOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 6)}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "resource_id", Value: e.ResourceID}, {Key: "hash", Value: e.ComputeHash()}}}})
			return err
		}, audit.Problem{Seq: 6, Kind: audit.ProblemBrokenLink}},
		{"deleted entry in the middle", func(ctx context.Context, org string) error {
			_, err := entries.DeleteOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 3)}})
			return err
		}, audit.Problem{Seq: 3, Kind: audit.ProblemGap}},
		{"deleted last entry", func(ctx context.Context, org string) error {
			_, err := entries.DeleteOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 6)}})
			return err
		}, audit.Problem{Seq: 6, Kind: audit.ProblemGap}},
		{"deleted every entry", func(ctx context.Context, org string) error {
			_, err := entries.DeleteMany(ctx, bson.D{{Key: "org_id", Value: org}})
			return err
		}, audit.Problem{Seq: 1, Kind: audit.ProblemGap}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			org := fmt.Sprintf("org-%d", i) // one log per case in the shared database
			svc := audit.NewService(store, auditClock(auditStart, time.Second))
			recordAudit(t, svc, org, 6)
			if err := tt.tamper(ctx, org); err != nil {
				t.Fatalf("tampering: %v", err)
			}
			r, err := svc.Verify(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || r.FirstProblem == nil || r.FirstProblem.Seq != tt.want.Seq || r.FirstProblem.Kind != tt.want.Kind {
				t.Fatalf("Verify = %+v, problem %+v; want %+v", r, r.FirstProblem, tt.want)
			}
		})
	}
}

func TestAuditTruncatedLogKeepsRecording(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	svc := audit.NewService(store, auditClock(auditStart, time.Second))
	old := recordAudit(t, svc, "org", 3)
	if _, err := store.RawCollection().DeleteOne(ctx, bson.D{{Key: "_id", Value: rawID("org", 3)}}); err != nil {
		t.Fatal(err)
	}
	if last, ok, err := store.Last(ctx, "org"); err != nil || !ok || last != old[2] {
		t.Fatalf("Last after deleting the newest entry = %+v, %v, %v; want the head's copy of entry 3", last, ok, err)
	}
	if r, err := svc.Verify(ctx, "org"); err != nil || r.OK || r.FirstProblem.Kind != audit.ProblemGap || r.FirstProblem.Seq != 3 {
		t.Fatalf("Verify = %+v %+v, %v; want a gap at 3", r, r.FirstProblem, err)
	}
	e, err := svc.Record(ctx, auditEntry("org", 9))
	if err != nil || e.Seq != 4 || e.PrevHash != old[2].Hash {
		t.Fatalf("Record after truncation = %+v, %v; want seq 4 linked to the deleted entry", e, err)
	}
	r, err := svc.Verify(ctx, "org")
	if err != nil || r.OK || r.FirstProblem.Kind != audit.ProblemGap || r.FirstProblem.Seq != 3 {
		t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
	}
}

func TestAuditRecordCatchesUpALaggingHead(t *testing.T) {
	t.Parallel()
	store := openAudit(t)
	heads := auditHeads(store)
	tests := []struct {
		name string
		lag  func(ctx context.Context, org string) error
	}{
		{"head behind", func(ctx context.Context, org string) error { // as if writers of 3 to 5 stopped before moving it
			var entry2 bson.Raw
			if err := store.RawCollection().FindOne(ctx, bson.D{{Key: "_id", Value: rawID(org, 2)}}).Decode(&entry2); err != nil {
				return err
			}
			_, err := heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: org}}, bson.D{{Key: "_id", Value: org}, {Key: "seq", Value: 2}, {Key: "entry", Value: entry2}})
			return err
		}},
		{"head missing", func(ctx context.Context, org string) error {
			_, err := heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: org}})
			return err
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			org := fmt.Sprintf("org-%d", i)
			svc := audit.NewService(store, auditClock(auditStart, time.Second))
			written := recordAudit(t, svc, org, 5)
			if err := tt.lag(ctx, org); err != nil {
				t.Fatal(err)
			}
			restarted := audit.NewService(store, auditClock(auditStart.Add(time.Minute), time.Second)) // knows only the database
			e, err := restarted.Record(ctx, auditEntry(org, 5))
			if err != nil || e.Seq != 6 || e.PrevHash != written[4].Hash {
				t.Fatalf("Record = %+v, %v; want seq 6 after entry 5", e, err)
			}
			if err := restarted.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			last, ok, err := store.Last(ctx, org)
			if err != nil || !ok || last != e {
				t.Fatalf("Last = %+v, %v, %v; want the head caught up at 6", last, ok, err)
			}
			if r, err := restarted.Verify(ctx, org); err != nil || !r.OK || r.Entries != 6 {
				t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
			}
		})
	}
}

func TestAuditHeadNeverMovesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	written := recordAudit(t, audit.NewService(store, auditClock(auditStart, time.Second)), "org", 5)
	// A slow writer's older append arriving after newer ones (simulated by freeing number 3).
	if _, err := store.RawCollection().DeleteOne(ctx, bson.D{{Key: "_id", Value: rawID("org", 3)}}); err != nil {
		t.Fatal(err)
	}
	if err := appendOne(ctx, store, written[2]); err != nil {
		t.Fatalf("append = %v", err)
	}
	if last, ok, err := store.Last(ctx, "org"); err != nil || !ok || last != written[4] {
		t.Fatalf("Last = %+v, %v, %v; want the head left at 5", last, ok, err)
	}
	if n, err := auditHeads(store).CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Fatalf("%d head documents, %v; want 1", n, err)
	}
}

func TestAuditListFiltersAndPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	svc := audit.NewService(store, auditClock(auditStart, time.Minute)) // entry n at auditStart + (n-1) minutes
	specs := []struct{ actor, action, rtype, rid string }{
		{"u-1", "case.read", "case", "c-1"},         // 1
		{"u-2", "case.update", "case", "c-1"},       // 2
		{"u-1", "auth.login", "", ""},               // 3
		{"u-1", "case.read", "case", "c-2"},         // 4
		{"", "auth.login_failed", "", ""},           // 5
		{"u-3", "device.revoked", "device", "d-9"},  // 6
		{"u-2", "case.read", "case", "c-1"},         // 7
		{"u-3", "user.role_changed", "user", "u-2"}, // 8
	}
	for i, s := range specs {
		if _, err := svc.Record(ctx, audit.Entry{OrgID: "org", ActorID: s.actor, Action: s.action, ResourceType: s.rtype,
			ResourceID: s.rid, Outcome: audit.OutcomeSuccess, RequestID: fmt.Sprint("r-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	recordAudit(t, svc, "other-org", 3)
	at := func(n int) time.Time { return auditStart.Add(time.Duration(n-1) * time.Minute) }
	tests := []struct {
		name  string
		f     audit.Filter
		after int64
		limit int
		want  []int64
	}{
		{"everything", audit.Filter{}, 0, 50, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"by actor", audit.Filter{ActorID: "u-1"}, 0, 50, []int64{1, 3, 4}},
		{"by action", audit.Filter{Action: "case.read"}, 0, 50, []int64{1, 4, 7}},
		{"by resource", audit.Filter{ResourceType: "case", ResourceID: "c-1"}, 0, 50, []int64{1, 2, 7}},
		{"by resource type", audit.Filter{ResourceType: "device"}, 0, 50, []int64{6}},
		{"actor and action", audit.Filter{ActorID: "u-2", Action: "case.read"}, 0, 50, []int64{7}},
		{"since (inclusive)", audit.Filter{Since: at(6)}, 0, 50, []int64{6, 7, 8}},
		{"since, paged from before its start", audit.Filter{Since: at(4)}, 1, 2, []int64{4, 5}},
		{"since, next page by cursor", audit.Filter{Since: at(4)}, 5, 2, []int64{6, 7}},
		{"since, cursor past its start", audit.Filter{Since: at(2)}, 6, 50, []int64{7, 8}},
		{"since between two entries", audit.Filter{Since: at(3).Add(time.Second)}, 0, 50, []int64{4, 5, 6, 7, 8}},
		{"since after the newest entry", audit.Filter{Since: at(9)}, 0, 50, nil},
		{"since and an actor", audit.Filter{Since: at(2), ActorID: "u-1"}, 0, 50, []int64{3, 4}},
		{"until (exclusive)", audit.Filter{Until: at(3)}, 0, 50, []int64{1, 2}},
		{"time window", audit.Filter{Since: at(2), Until: at(5)}, 0, 50, []int64{2, 3, 4}},
		{"time window in another zone", audit.Filter{Since: at(2).In(time.FixedZone("X", -5*3600)), Until: at(5)}, 0, 50, []int64{2, 3, 4}},
		{"no match", audit.Filter{ActorID: "u-404"}, 0, 50, nil},
		{"operator-looking value is a plain string", audit.Filter{ActorID: "$ne"}, 0, 50, nil},
		{"first page", audit.Filter{}, 0, 3, []int64{1, 2, 3}},
		{"next page", audit.Filter{}, 3, 3, []int64{4, 5, 6}},
		{"last page", audit.Filter{}, 6, 3, []int64{7, 8}},
		{"past the end", audit.Filter{}, 8, 3, nil},
		{"filtered page", audit.Filter{Action: "case.read"}, 1, 1, []int64{4}},
		{"limit above the maximum is cut", audit.Filter{}, 0, 10_000, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := svc.List(ctx, "org", tt.f, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, e := range got {
				if e.OrgID != "org" {
					t.Fatalf("entry of %s listed", e.OrgID)
				}
				seqs = append(seqs, e.Seq)
			}
			if !slices.Equal(seqs, tt.want) {
				t.Fatalf("seqs = %v, want %v", seqs, tt.want)
			}
		})
	}
	// Walking every page with the last Seq as cursor visits everything once.
	var walked []int64
	for after := int64(0); ; {
		page, next, err := svc.List(ctx, "org", audit.Filter{}, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			walked = append(walked, e.Seq)
		}
		if next == 0 {
			break
		}
		after = next
	}
	if !slices.Equal(walked, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("walked %v", walked)
	}
}

// TestAuditHashReproducible recomputes a stored entry's hash from the raw database document, following
// the canonical encoding in the audit package documentation, with nothing from the audit package.
func TestAuditHashReproducible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openAudit(t)
	svc := audit.NewService(store, auditClock(time.Date(2025, 7, 14, 23, 59, 59, 987654321, time.FixedZone("X", 2*3600)), time.Second))
	recordAudit(t, svc, "org", 2)
	for _, seq := range []int64{1, 2} {
		var raw bson.M
		if err := store.RawCollection().FindOne(ctx, bson.D{{Key: "_id", Value: rawID("org", seq)}}).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		tm := raw["time"].(bson.DateTime).Time().UTC()
		// A struct keeps the documented member order; encoding/json writes no whitespace.
		body, err := json.Marshal(struct {
			OrgID        any `json:"org_id"`
			Seq          any `json:"seq"`
			Time         any `json:"time"`
			ActorID      any `json:"actor_id"`
			ActorRole    any `json:"actor_role"`
			DeviceID     any `json:"device_id"`
			Action       any `json:"action"`
			ResourceType any `json:"resource_type"`
			ResourceID   any `json:"resource_id"`
			Outcome      any `json:"outcome"`
			RequestID    any `json:"request_id"`
			PrevHash     any `json:"prev_hash"`
		}{raw["org_id"], raw["seq"], tm.Format("2006-01-02T15:04:05.000Z"), raw["actor_id"], raw["actor_role"], raw["device_id"],
			raw["action"], raw["resource_type"], raw["resource_id"], raw["outcome"], raw["request_id"], raw["prev_hash"]})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != raw["hash"] {
			t.Fatalf("entry %d: sha256(%s) = %s, stored hash %v", seq, body, got, raw["hash"])
		}
		if seq == 1 && raw["prev_hash"] != "0000000000000000000000000000000000000000000000000000000000000000" {
			t.Fatalf("first prev_hash = %v", raw["prev_hash"])
		}
	}
}

// seedAudit fills org's log with a valid chain of size entries: all but the last inserted in bulk,
// the last through Append so that the head exists.
func seedAudit(b *testing.B, store *mongodb.AuditStore, org string, size int) {
	b.Helper()
	ctx := context.Background()
	docs := make([]any, 0, size)
	prev := audit.ZeroHash
	for i := range size {
		e := auditEntry(org, i)
		e.Seq, e.Time, e.PrevHash = int64(i+1), auditStart.Add(time.Duration(i)*time.Second), prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		if i == size-1 {
			if len(docs) > 0 {
				if _, err := store.RawCollection().InsertMany(ctx, docs); err != nil {
					b.Fatal(err)
				}
			}
			if err := appendOne(ctx, store, e); err != nil {
				b.Fatal(err)
			}
			break
		}
		docs = append(docs, bson.D{{Key: "_id", Value: rawID(org, e.Seq)}, {Key: "org_id", Value: e.OrgID}, {Key: "seq", Value: e.Seq},
			{Key: "time", Value: e.Time}, {Key: "actor_id", Value: e.ActorID}, {Key: "actor_role", Value: e.ActorRole},
			{Key: "device_id", Value: e.DeviceID}, {Key: "action", Value: e.Action}, {Key: "resource_type", Value: e.ResourceType},
			{Key: "resource_id", Value: e.ResourceID}, {Key: "outcome", Value: string(e.Outcome)}, {Key: "request_id", Value: e.RequestID},
			{Key: "prev_hash", Value: e.PrevHash}, {Key: "hash", Value: e.Hash}})
	}
}

// BenchmarkAuditRecord records one entry at two log sizes: the ratio should be close to 1, because
// Record reads only the head (see the comment in audit.go).
func BenchmarkAuditRecord(b *testing.B) {
	for _, size := range []int{10, 5_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			store := openAudit(b)
			seedAudit(b, store, "org", size)
			svc := audit.NewService(store, time.Now)
			for b.Loop() {
				if _, err := svc.Record(context.Background(), auditEntry("org", 1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuditList lists one page of a filtered query at two log sizes (compare the two: on the
// embedded database the time grows with the size of the collection, see the comment in audit.go).
func BenchmarkAuditList(b *testing.B) {
	for _, size := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			store := openAudit(b)
			seedAudit(b, store, "org", size)
			for b.Loop() {
				if _, err := store.List(context.Background(), "org", audit.Filter{ResourceType: "case", ResourceID: "c-1"}, 0, 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuditRecordParallel records entries of one organisation from many goroutines at once
// (b.RunParallel, GOMAXPROCS goroutines times the parallelism given), like concurrent audited requests
// of one organisation: the throughput depends on how many entries Record writes per database round trip.
func BenchmarkAuditRecordParallel(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("x%d", par), func(b *testing.B) {
			store := openAudit(b)
			seedAudit(b, store, "org", 10)
			svc := audit.NewService(store, time.Now)
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Record(context.Background(), auditEntry("org", 1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if r, err := svc.Verify(context.Background(), "org"); err != nil || !r.OK {
				b.Fatalf("Verify = %+v, %v", r, err)
			}
		})
	}
}
