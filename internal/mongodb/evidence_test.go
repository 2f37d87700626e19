package mongodb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// evidenceCases is a fake evidence.Cases: one open case of org-1 that caseworker cw-1 is assigned to.
type evidenceCases struct{ caseID string }

func (c evidenceCases) CaseAccess(_ context.Context, p identity.Principal, caseID, _ string) (casework.Case, identity.Role, error) {
	switch {
	case !p.HasAnyRole(identity.RoleCaseworker, identity.RoleSupervisor):
		return casework.Case{}, "", identity.ErrForbidden
	case caseID != c.caseID || p.OrgID != "org-1" || (!p.HasRole(identity.RoleSupervisor) && p.UserID != "cw-1"):
		return casework.Case{}, "", apperr.New(apperr.NotFound, "case_not_found", "ErrCaseNotFound", nil)
	}
	role := identity.RoleCaseworker
	if p.HasRole(identity.RoleSupervisor) {
		role = identity.RoleSupervisor
	}
	return casework.Case{ID: caseID, OrgID: "org-1", Status: casework.StatusOpen}, role, nil
}

type evidenceAudit struct{ eventLog }

var (
	evWorker     = identity.Principal{UserID: "cw-1", OrgID: "org-1", Roles: []identity.Role{identity.RoleCaseworker}, DeviceID: "phone-1"}
	evSupervisor = identity.Principal{UserID: "sv-1", OrgID: "org-1", Roles: []identity.Role{identity.RoleSupervisor}}
)

type evidenceFixture struct {
	ctx    context.Context
	db     *mongodb.DB
	store  *mongodb.EvidenceStore
	svc    *evidence.Service
	audit  *evidenceAudit
	signer *evidence.ReceiptSigner
	caseID string
}

func newEvidenceFixture(t testing.TB) *evidenceFixture {
	t.Helper()
	db := dbtest.Open(t)
	ctx := context.Background()
	signer, err := evidence.NewReceiptSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := &evidenceFixture{ctx: ctx, db: db, store: db.Evidence(caseworkRing(t, caseworkKey("k1", 1))), audit: &evidenceAudit{},
		signer: signer, caseID: uuid.Must(uuid.NewV7()).String()}
	f.svc = f.service()
	return f
}

// service returns another Service over the same store: another instance of the API.
func (f *evidenceFixture) service() *evidence.Service {
	return evidence.NewService(f.store, evidenceCases{caseID: f.caseID}, f.audit, f.signer, nil)
}

func yes() *bool { b := true; return &b }

func sha(n int) string { return fmt.Sprintf("%064x", n) }

func (f *evidenceFixture) phone(t testing.TB) evidence.Item {
	t.Helper()
	it, created, err := f.svc.CreateItem(f.ctx, evWorker, f.caseID, evidence.NewItem{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: evidence.KindDevice, Description: "Child's phone, cracked blue case",
		Identifiers:   evidence.Identifiers{Make: "Acme", Model: "P7", SerialNumber: "SN-Heron-4471"},
		ExhibitNumber: "EX-001", Hashes: []evidence.Hash{{Algorithm: "sha256", Value: sha(1)}},
		Acquisition: evidence.Acquisition{Method: "seizure", At: time.Now().Add(-time.Hour), Place: "Flat 3, Lantern Road", WriteProtected: yes()},
		Authority:   evidence.LegalAuthority{Basis: "consent", Reference: "CONSENT-77"}, SealNumber: "SEAL-1",
	})
	if err != nil || !created {
		t.Fatalf("creating the item: %v %v", created, err)
	}
	return it
}

func (f *evidenceFixture) append(t testing.TB, svc *evidence.Service, p identity.Principal, itemID string, ne evidence.NewEvent) evidence.Appended {
	t.Helper()
	if ne.ID == "" {
		ne.ID = uuid.Must(uuid.NewV7()).String()
	}
	if ne.RecordedAt.IsZero() {
		ne.RecordedAt = time.Now()
	}
	a, err := svc.Append(f.ctx, p, f.caseID, itemID, ne)
	if err != nil {
		t.Fatalf("appending %s: %v", ne.Type, err)
	}
	return a
}

// 50 appenders at once on one item, through two service instances (so that their sequence numbers
// collide in the database): every acknowledged event is in one gapless, unforked chain.
func TestEvidenceConcurrentAppendersNeverFork(t *testing.T) {
	t.Parallel()
	f := newEvidenceFixture(t)
	it := f.phone(t)
	instances := []*evidence.Service{f.svc, f.service()}
	var mu sync.Mutex
	acked := map[string]int64{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uuid.Must(uuid.NewV7()).String()
			a, err := instances[i%2].Append(f.ctx, evWorker, f.caseID, it.ID, evidence.NewEvent{ID: id, Type: evidence.EventAccessed,
				RecordedAt: time.Now(), Purpose: fmt.Sprintf("look %d", i)})
			if err != nil {
				t.Errorf("appender %d: %v", i, err)
				return
			}
			if a.Receipt.Seq < a.Event.Seq {
				t.Errorf("appender %d: receipt of event %d does not cover event %d", i, a.Receipt.Seq, a.Event.Seq)
			}
			mu.Lock()
			acked[id] = a.Event.Seq
			mu.Unlock()
		}()
	}
	wg.Wait()
	var seqs []int64
	err := f.store.ScanEvents(f.ctx, it.ID, func(e evidence.Event) error {
		seqs = append(seqs, e.Seq)
		if want, ok := acked[e.ID]; ok && want != e.Seq {
			t.Errorf("event %s acknowledged as %d, stored as %d", e.ID, want, e.Seq)
		}
		delete(acked, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(acked) != 0 {
		t.Errorf("%d acknowledged events are not in the chain", len(acked))
	}
	if len(seqs) != 51 || seqs[0] != 1 || seqs[50] != 51 || !slices.IsSorted(seqs) {
		t.Errorf("chain numbers %v", seqs)
	}
	rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, "")
	if err != nil || !rep.OK || rep.Events != 51 {
		t.Fatalf("verify: %+v %v (problem %+v)", rep, err, rep.FirstProblem)
	}
}

// An item's life from collection to a lab and back: every rule holds and the chain verifies.
func TestEvidenceLifecycle(t *testing.T) {
	t.Parallel()
	f := newEvidenceFixture(t)
	it := f.phone(t)
	lab := evidence.Party{Name: "Dr R. Okafor", Organisation: "Regional Forensic Lab"}
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventSealed, SealNumber: "SEAL-2", SealIntact: yes()})
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventTransferred, From: evidence.Party{UserID: "cw-1"}, To: lab, Purpose: "extraction"})
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventReceived, PerformedBy: lab, SealNumber: "SEAL-2", SealIntact: yes()})
	copyID := uuid.Must(uuid.NewV7()).String()
	a := f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventCopied, PerformedBy: lab, DerivedItem: &evidence.NewItem{
		ID: copyID, Kind: evidence.KindDigitalFile, ExhibitNumber: "EX-001/1", Hashes: []evidence.Hash{{Algorithm: "sha256", Value: sha(2)}},
		Acquisition: evidence.Acquisition{Method: "logical_extraction", Tool: "ExtractKit", ToolVersion: "4.2", At: time.Now()},
		Authority:   evidence.LegalAuthority{Basis: "consent"}}})
	if a.Event.DerivedItem != copyID {
		t.Errorf("copied event names %q", a.Event.DerivedItem)
	}
	cp, err := f.svc.Item(f.ctx, evWorker, f.caseID, copyID)
	if err != nil || cp.DerivedFromItemID != it.ID || cp.RootExhibitNumber != "EX-001" {
		t.Errorf("derived item %+v %v", cp, err)
	}
	a = f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventHashVerified, Verified: &evidence.Hash{Algorithm: "sha256", Value: sha(1)}})
	if a.Event.Matches == nil || !*a.Event.Matches || a.Item.State.IntegrityFailed {
		t.Errorf("a matching verification: %+v", a.Event.Matches)
	}
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventTransferred, From: lab, To: evidence.Party{UserID: "cw-1"}})
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventReceived})
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventStored, Place: "Locker 12"})
	a = f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventLegalHold, Hold: yes(), Purpose: "Court order 2026/114"})
	if !a.Item.State.LegalHold || a.Item.State.Status != evidence.StatusInStorage || a.Item.State.StorageLocation != "Locker 12" {
		t.Errorf("state %+v", a.Item.State)
	}
	destroy := evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(), Type: evidence.EventDestroyed, RecordedAt: time.Now()}
	if _, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, destroy); apperr.As(err) == nil || apperr.As(err).Code != "legal_hold" {
		t.Errorf("destroying under legal hold: %v", err)
	}
	release := evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(), Type: evidence.EventLegalHold, Hold: new(bool), Purpose: "Appeal period over", RecordedAt: time.Now()}
	if _, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, release); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a caseworker releases a hold: %v", err)
	}
	f.append(t, f.svc, evSupervisor, it.ID, release)
	a = f.append(t, f.svc, evSupervisor, it.ID, destroy)
	if a.Item.State.Status != evidence.StatusDestroyed {
		t.Errorf("status %s", a.Item.State.Status)
	}
	if _, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(), Type: evidence.EventAccessed, RecordedAt: time.Now()}); apperr.As(err) == nil || apperr.As(err).Code != "evidence_item_destroyed" {
		t.Errorf("handling a destroyed item: %v", err)
	}
	// A retried destroy changes nothing.
	again := f.append(t, f.svc, evSupervisor, it.ID, destroy)
	if again.New || again.Event.Seq != a.Event.Seq {
		t.Errorf("retry: new %v seq %d (first %d)", again.New, again.Event.Seq, a.Event.Seq)
	}
	other := destroy
	other.Purpose = "something else"
	if _, err := f.svc.Append(f.ctx, evSupervisor, f.caseID, it.ID, other); apperr.As(err) == nil || apperr.As(err).Code != "custody_event_id_conflict" {
		t.Errorf("the same event id with other content: %v", err)
	}
	m := f.append(t, f.svc, evWorker, copyID, evidence.NewEvent{Type: evidence.EventHashVerified, Verified: &evidence.Hash{Algorithm: "sha256", Value: sha(9)}})
	if m.Event.Matches == nil || *m.Event.Matches || !m.Item.State.IntegrityFailed {
		t.Errorf("a failed verification does not mark the item: %+v", m.Item.State)
	}
	rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, a.Receipt.Token)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep.FirstProblem, err)
	}
	cr, err := f.svc.VerifyCase(f.ctx, evSupervisor, f.caseID)
	if err != nil || cr.OK || len(cr.Items) != 2 { // the copy failed its hash check: the case's evidence is not ok
		t.Errorf("case verify: %+v %v", cr, err)
	}
	for _, r := range cr.Items {
		if failed := r.ItemID == copyID; r.OK == failed || (r.Integrity == evidence.IntegrityFailed) != failed {
			t.Errorf("item %s: ok %v integrity %s", r.ItemID, r.OK, r.Integrity)
		}
	}
	_, events, _, err := f.svc.Chain(f.ctx, evWorker, f.caseID, it.ID)
	if err != nil || len(events) != int(rep.LastSeq) {
		t.Errorf("chain: %d events, %v", len(events), err)
	}
}

// Tampering with the raw database is found in every form: an edited event, a deleted one in the
// middle (gap) or at the end (missing event), a rewritten tail that no longer matches the signed
// receipt, a forged receipt, an edited item record and an altered ciphertext.
func TestEvidenceTamperingIsFound(t *testing.T) {
	t.Parallel()
	f := newEvidenceFixture(t)
	raw := f.store.RawEventsCollection()
	items := f.store.RawItemsCollection()
	tests := []struct {
		name   string
		tamper func(t *testing.T, it evidence.Item, last evidence.Appended)
		kind   string
		seq    int64
	}{
		{"edit an event", func(t *testing.T, it evidence.Item, _ evidence.Appended) {
			setRaw(t, raw, mongodb.EvidenceEventID(it.ID, 2), bson.D{{Key: "type", Value: "returned"}})
		}, evidence.ProblemHashMismatch, 2},
		{"alter a ciphertext", func(t *testing.T, it evidence.Item, _ evidence.Appended) {
			setRaw(t, raw, mongodb.EvidenceEventID(it.ID, 3), bson.D{{Key: "purpose", Value: "plain text instead"}})
		}, evidence.ProblemHashMismatch, 3},
		{"delete an event in the middle", func(t *testing.T, it evidence.Item, _ evidence.Appended) {
			deleteRaw(t, raw, mongodb.EvidenceEventID(it.ID, 2))
		}, evidence.ProblemGap, 2},
		{"delete the newest event", func(t *testing.T, it evidence.Item, _ evidence.Appended) {
			deleteRaw(t, raw, mongodb.EvidenceEventID(it.ID, 4))
		}, evidence.ProblemMissingEvent, 4},
		{"rewrite the tail and the head", func(t *testing.T, it evidence.Item, last evidence.Appended) {
			// A consistent rewrite of the newest event: new fields, recomputed hash, head moved to it.
			e := last.Event
			e.Purpose = ""
			e.RecordedBy = "someone-else"
			e.Hash = e.ComputeHash()
			setRaw(t, raw, mongodb.EvidenceEventID(it.ID, e.Seq), bson.D{{Key: "recorded_by", Value: e.RecordedBy}, {Key: "purpose", Value: ""}, {Key: "hash", Value: e.Hash}})
			setRaw(t, items, it.ID, bson.D{{Key: "head.hash", Value: e.Hash}})
		}, evidence.ProblemReceiptMismatch, 4},
		{"forge the receipt", func(t *testing.T, it evidence.Item, last evidence.Appended) {
			setRaw(t, items, it.ID, bson.D{{Key: "head.receipt", Value: last.Receipt.Token[:len(last.Receipt.Token)-4] + "AAAA"}})
		}, evidence.ProblemReceiptInvalid, 4},
		{"edit the item's hash", func(t *testing.T, it evidence.Item, _ evidence.Appended) {
			setRaw(t, items, it.ID, bson.D{{Key: "hashes", Value: bson.A{bson.D{{Key: "algorithm", Value: "sha256"}, {Key: "value", Value: sha(5)}}}}})
		}, evidence.ProblemItemMismatch, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := f.phone(t)
			f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventSealed, SealNumber: "S-9"})
			f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventAccessed, Purpose: "photograph the seal"})
			last := f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventAccessed, Purpose: "check"})
			if rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, ""); err != nil || !rep.OK {
				t.Fatalf("before tampering: %+v %v", rep.FirstProblem, err)
			}
			tt.tamper(t, it, last)
			rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, last.Receipt.Token)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstProblem == nil || rep.FirstProblem.Kind != tt.kind || rep.FirstProblem.Seq != tt.seq {
				t.Errorf("report %+v, problem %+v; want %s at %d", rep, rep.FirstProblem, tt.kind, tt.seq)
			}
		})
	}
}

func setRaw(t *testing.T, coll interface {
	UpdateOne(ctx context.Context, filter any, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error)
}, id string, set bson.D) {
	t.Helper()
	res, err := coll.UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}})
	if err != nil || res.MatchedCount != 1 {
		t.Fatalf("tampering with %s: %v", id, err)
	}
}

func deleteRaw(t *testing.T, coll *mongo.Collection, id string) {
	t.Helper()
	res, err := coll.DeleteOne(context.Background(), bson.D{{Key: "_id", Value: id}})
	if err != nil || res.DeletedCount != 1 {
		t.Fatalf("deleting %s: %v", id, err)
	}
}

// Free text and identifiers never reach the database in clear; a flagged item holds no content.
func TestEvidenceEncryptedAtRestAndAbuseMaterial(t *testing.T) {
	t.Parallel()
	f := newEvidenceFixture(t)
	it := f.phone(t)
	f.append(t, f.svc, evWorker, it.ID, evidence.NewEvent{Type: evidence.EventTransferred, From: evidence.Party{UserID: "cw-1"},
		To: evidence.Party{Name: "Officer Quillon-Marsh", Organisation: "Harbour Police"}, Place: "Station lobby", Purpose: "hand-over", Note: "Wren-note-5521"})
	secrets := []string{"cracked blue case", "SN-Heron-4471", "Lantern Road", "CONSENT-77", "EX-001", "SEAL-1", "Quillon-Marsh", "Harbour Police", "Station lobby", "Wren-note-5521"}
	for _, coll := range []*mongo.Collection{f.store.RawItemsCollection(), f.store.RawEventsCollection()} {
		cur, err := coll.Find(f.ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for cur.Next(f.ctx) {
			n++
			for _, s := range secrets {
				if bytes.Contains(cur.Current, []byte(s)) {
					t.Errorf("%s holds %q in clear", coll.Name(), s)
				}
			}
			for _, k := range []string{"org_id", "case_id", "updated_at", "change_seq"} {
				if _, err := cur.Current.LookupErr(k); err != nil {
					t.Errorf("%s document lacks %s", coll.Name(), k)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s is empty", coll.Name())
		}
	}

	flagged := evidence.NewItem{ID: uuid.Must(uuid.NewV7()).String(), Kind: evidence.KindDigitalFile, SuspectedAbuseMaterial: true,
		Hashes: []evidence.Hash{{Algorithm: "sha256", Value: sha(3)}, {Algorithm: "pdq", Value: sha(4)}}, AbuseCategory: "category_a",
		LawEnforcementReference: "ICSE-REF-1", Acquisition: evidence.Acquisition{Method: "download", At: time.Now()}, Authority: evidence.LegalAuthority{Basis: "warrant"}}
	withText := flagged
	withText.ID = uuid.Must(uuid.NewV7()).String()
	withText.Description = "what it shows"
	if _, _, err := f.svc.CreateItem(f.ctx, evWorker, f.caseID, withText); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("a flagged item with a description: %v", err)
	}
	fi, _, err := f.svc.CreateItem(f.ctx, evWorker, f.caseID, flagged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Append(f.ctx, evWorker, f.caseID, fi.ID, evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(), Type: evidence.EventAccessed,
		RecordedAt: time.Now(), Note: "it shows"}); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("a note on a flagged item: %v", err)
	}
}

// The same event sent several times at once (a device retrying while its first attempt is still
// in flight) is stored once, and every attempt gets that event.
func TestEvidenceConcurrentRetriesStoreOnce(t *testing.T) {
	t.Parallel()
	f := newEvidenceFixture(t)
	it := f.phone(t)
	ne := evidence.NewEvent{ID: uuid.Must(uuid.NewV7()).String(), Type: evidence.EventStored, RecordedAt: time.Now(), Place: "Locker 3"}
	seqs := make([]int64, 8)
	news := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.svc.Append(f.ctx, evWorker, f.caseID, it.ID, ne)
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			seqs[i], news[i] = a.Event.Seq, a.New
		}()
	}
	wg.Wait()
	n := 0
	for i := range seqs {
		if seqs[i] != 2 {
			t.Errorf("attempt %d got event %d", i, seqs[i])
		}
		if news[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d attempts report a new event", n)
	}
	rep, err := f.svc.VerifyItem(f.ctx, evSupervisor, f.caseID, it.ID, "")
	if err != nil || !rep.OK || rep.Events != 2 {
		t.Errorf("verify: %+v %v", rep, err)
	}
}
