package evidence_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The evidence service against the real store on the embedded database, with the case access check
// and the audit log as fakes: one database for the package's tests, one case per test.

// world is the service under test and what it was built with.
type world struct {
	svc    *evidence.Service
	cases  *fakeCases
	events *eventLog
}

// newWorld returns a service on a fresh database, closed when t ends.
func newWorld(t *testing.T) *world {
	t.Helper()
	db := dbtest.Open(t)
	ring, err := fieldcrypt.ParseKeyRing("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, fieldcrypt.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewReceiptSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cases: &fakeCases{m: map[string]casework.Case{}}, events: &eventLog{}}
	w.svc = evidence.NewService(db.Evidence(ring), w.cases, w.events, signer, nil)
	return w
}

// TestService runs the service's tests on one database (starting one is the slow part), each on
// cases of its own.
func TestService(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *world)
	}{
		{"CreateItem", testCreateItem},
		{"AppendRules", testAppendRules},
		{"CopyRecordsTheDerivedItem", testCopyRecordsTheDerivedItem},
		{"ConcurrentAppendsChainInOrder", testConcurrentAppendsChainInOrder},
		{"ListItemsPages", testListItemsPages},
		{"ItemOnlyOnItsCase", testItemOnlyOnItsCase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, w)
		})
	}
}

// fakeCases checks case access as casework does: the case's organisation, its supervisors, and the
// caseworkers assigned to it; anyone else gets case_not_found.
type fakeCases struct {
	mu sync.Mutex
	m  map[string]casework.Case
}

func (f *fakeCases) add(c casework.Case) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[c.ID] = c
}

func (f *fakeCases) CaseAccess(_ context.Context, p identity.Principal, caseID, _ string) (casework.Case, identity.Role, error) {
	f.mu.Lock()
	c, ok := f.m[caseID]
	f.mu.Unlock()
	notFound := &apperr.Error{Kind: apperr.NotFound, Code: "case_not_found", MessageID: "ErrCaseNotFound"}
	switch {
	case !ok || c.OrgID != p.OrgID:
		return casework.Case{}, "", notFound
	case p.HasRole(identity.RoleSupervisor):
		return c, identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleCaseworker) && slices.Contains(c.CaseworkerIDs, p.UserID):
		return c, identity.RoleCaseworker, nil
	}
	return casework.Case{}, "", notFound
}

// eventLog is an in-memory audit.Recorder.
type eventLog struct {
	mu  sync.Mutex
	all []audit.Event
}

func (l *eventLog) RecordEvent(_ context.Context, e audit.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, e)
	return nil
}

// has reports whether an event of action on resource id with outcome was recorded.
func (l *eventLog) has(action, id string, outcome audit.Outcome) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.all {
		if e.Action == action && e.ResourceID == id && e.Outcome == outcome {
			return true
		}
	}
	return false
}

// people of one case: its caseworker, a supervisor of its organisation, a caseworker not assigned
// to it, and a supervisor of another organisation.
type people struct {
	caseID                               string
	worker, supervisor, stranger, abroad identity.Principal
}

// newCase adds an open case (closed when closed is true) of a new organisation with its people.
func newCase(t *testing.T, w *world, closed bool) people {
	t.Helper()
	org := "org-" + uuid.NewString()[:8]
	ps := people{caseID: newID(),
		worker:     identity.Principal{UserID: "w-" + uuid.NewString()[:8], OrgID: org, Roles: []identity.Role{identity.RoleCaseworker}},
		supervisor: identity.Principal{UserID: "s-" + uuid.NewString()[:8], OrgID: org, Roles: []identity.Role{identity.RoleSupervisor}},
		stranger:   identity.Principal{UserID: "x-" + uuid.NewString()[:8], OrgID: org, Roles: []identity.Role{identity.RoleCaseworker}},
		abroad:     identity.Principal{UserID: "a-" + uuid.NewString()[:8], OrgID: "other-" + org, Roles: []identity.Role{identity.RoleSupervisor}},
	}
	status := casework.StatusOpen
	if closed {
		status = casework.StatusClosed
	}
	w.cases.add(casework.Case{ID: ps.caseID, OrgID: org, Status: status, CaseworkerIDs: []string{ps.worker.UserID}, Version: 1})
	return ps
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// acquired and recorded are the device times of the test items and events (fixed, so that a retry
// sends the same content).
var (
	acquired = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	recorded = time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
)

// phone is a valid new device item.
func phone(id string) evidence.NewItem {
	yes := true
	return evidence.NewItem{ID: id, Kind: evidence.KindDevice, Description: "Phone the child handed over",
		Identifiers: evidence.Identifiers{Make: "Acme", Model: "P7", SerialNumber: "SN-1"}, ExhibitNumber: "EX-1",
		Acquisition: evidence.Acquisition{Method: "handover", At: acquired, Place: "Family home", WriteProtected: &yes},
		Authority:   evidence.LegalAuthority{Basis: "consent", Reference: "CF-1"}, SealNumber: "S-1"}
}

func note(id, text string) evidence.NewEvent {
	return evidence.NewEvent{ID: id, Type: evidence.EventNote, RecordedAt: recorded, Note: text}
}

func hold(id string, on bool) evidence.NewEvent {
	return evidence.NewEvent{ID: id, Type: evidence.EventLegalHold, RecordedAt: recorded, Hold: &on, Purpose: "court order"}
}

func destroy(id string) evidence.NewEvent {
	return evidence.NewEvent{ID: id, Type: evidence.EventDestroyed, RecordedAt: recorded}
}

// code returns the code of err's *apperr.Error ("" when it is none).
func code(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// mustCreate records a phone on the case as its caseworker.
func mustCreate(t *testing.T, w *world, ps people) evidence.Item {
	t.Helper()
	it, created, err := w.svc.CreateItem(context.Background(), ps.worker, ps.caseID, phone(newID()))
	if err != nil || !created {
		t.Fatalf("creating an item: %v (created %v)", err, created)
	}
	return it
}

func testCreateItem(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	closed := newCase(t, w, true)

	id := newID()
	it, created, err := w.svc.CreateItem(ctx, ps.worker, ps.caseID, phone(id))
	if err != nil || !created {
		t.Fatalf("create: %v (created %v)", err, created)
	}
	if it.Head.Seq != 1 || it.Head.Receipt == "" || it.State.Status != evidence.StatusInCustody || it.State.Custodian.UserID != ps.worker.UserID {
		t.Errorf("created item: head %+v, state %+v", it.Head, it.State)
	}
	if !w.events.has(evidence.ActionItemCreate, id, audit.OutcomeSuccess) {
		t.Error("the create is not in the audit log")
	}
	again, created, err := w.svc.CreateItem(ctx, ps.worker, ps.caseID, phone(id))
	if err != nil || created || again.Head != it.Head {
		t.Errorf("retried create: %v, created %v, head %+v want %+v", err, created, again.Head, it.Head)
	}

	other := phone(id)
	other.Description = "Another phone"
	noKind := phone(newID())
	noKind.Kind = ""
	tests := []struct {
		name   string
		p      identity.Principal
		caseID string
		ni     evidence.NewItem
		code   string
	}{
		{"the same id with other content", ps.worker, ps.caseID, other, "evidence_item_id_conflict"},
		{"a closed case", closed.worker, closed.caseID, phone(newID()), "case_closed"},
		{"no kind", ps.worker, ps.caseID, noKind, "validation_failed"},
		{"a caseworker not assigned", ps.stranger, ps.caseID, phone(newID()), "case_not_found"},
		{"another organisation", ps.abroad, ps.caseID, phone(newID()), "case_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := w.svc.CreateItem(ctx, tc.p, tc.caseID, tc.ni); code(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func testAppendRules(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	it := mustCreate(t, w, ps)

	noteID := newID()
	ap, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, note(noteID, "Bagged"))
	if err != nil || !ap.New || ap.Event.Seq != 2 || ap.Receipt.Seq != 2 || ap.Item.Head.Seq != 2 {
		t.Fatalf("append: %v, %+v", err, ap)
	}
	retry, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, note(noteID, "Bagged"))
	if err != nil || retry.New || retry.Event.Seq != 2 || retry.Item.Head.Seq != 2 {
		t.Errorf("retried append: %v, new %v, seq %d, head %d", err, retry.New, retry.Event.Seq, retry.Item.Head.Seq)
	}
	if _, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, note(noteID, "Something else")); code(err) != "custody_event_id_conflict" {
		t.Errorf("event id reused for other content: %v", err)
	}
	if _, err := w.svc.Append(ctx, ps.supervisor, ps.caseID, it.ID, hold(newID(), true)); err != nil {
		t.Fatalf("placing a legal hold: %v", err)
	}
	tests := []struct {
		name string
		p    identity.Principal
		ne   evidence.NewEvent
		code string
		is   error
	}{
		{"destroying an item under legal hold", ps.supervisor, destroy(newID()), "legal_hold", nil},
		{"a caseworker releasing the hold", ps.worker, hold(newID(), false), "", identity.ErrForbidden},
		{"a transfer to no one", ps.worker, evidence.NewEvent{ID: newID(), Type: evidence.EventTransferred, RecordedAt: recorded}, "validation_failed", nil},
		{"a caseworker not assigned", ps.stranger, note(newID(), "x"), "case_not_found", nil},
		{"another organisation", ps.abroad, note(newID(), "x"), "case_not_found", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.svc.Append(ctx, tc.p, ps.caseID, it.ID, tc.ne)
			if code(err) != tc.code || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("got %v, want %q %v", err, tc.code, tc.is)
			}
		})
	}
	if !w.events.has(evidence.ActionEventAppend, it.ID, audit.OutcomeDenied) || !w.events.has(evidence.ActionEventAppend, it.ID, audit.OutcomeFailure) {
		t.Error("refused appends are not in the audit log as denied and failed")
	}
	// Released, the item may be destroyed; then only notes and corrections are taken.
	for _, ne := range []evidence.NewEvent{hold(newID(), false), destroy(newID())} {
		if _, err := w.svc.Append(ctx, ps.supervisor, ps.caseID, it.ID, ne); err != nil {
			t.Fatalf("%s: %v", ne.Type, err)
		}
	}
	if _, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, evidence.NewEvent{ID: newID(), Type: evidence.EventStored, RecordedAt: recorded}); code(err) != "evidence_item_destroyed" {
		t.Errorf("storing a destroyed item: %v", err)
	}
	if _, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, note(newID(), "Destruction witnessed")); err != nil {
		t.Errorf("a note on a destroyed item: %v", err)
	}
	rep, err := w.svc.VerifyItem(ctx, ps.supervisor, ps.caseID, it.ID, ap.Receipt.Token)
	if err != nil || !rep.OK || rep.Events != 6 || rep.State.Status != evidence.StatusDestroyed {
		t.Errorf("verification after the rules: %v, %+v", err, rep)
	}
}

// A copy records the derived item, whose own chain starts with its collection, and inherits the
// root exhibit number.
func testCopyRecordsTheDerivedItem(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	it := mustCreate(t, w, ps)
	copyID := newID()
	derived := phone(copyID)
	derived.Kind, derived.ExhibitNumber, derived.Hashes = evidence.KindDigitalFile, "EX-1/1", []evidence.Hash{{Algorithm: "sha256", Value: fmt.Sprintf("%064x", 1)}}
	derived.Identifiers, derived.SealNumber = evidence.Identifiers{}, ""
	ap, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, evidence.NewEvent{ID: newID(), Type: evidence.EventCopied,
		RecordedAt: recorded, DerivedItem: &derived})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if ap.Event.DerivedItem != copyID {
		t.Errorf("the copied event names %q, want %s", ap.Event.DerivedItem, copyID)
	}
	cp, err := w.svc.Item(ctx, ps.worker, ps.caseID, copyID)
	if err != nil || cp.DerivedFromItemID != it.ID || cp.RootExhibitNumber != "EX-1" || cp.Head.Seq != 1 {
		t.Errorf("derived item: %v, %+v", err, cp)
	}
	rep, err := w.svc.VerifyCase(ctx, ps.supervisor, ps.caseID)
	if err != nil || !rep.OK || len(rep.Items) != 2 {
		t.Errorf("case verification: %v, %+v", err, rep)
	}
}

// Appends to one item at once are chained one after the other by the group commit: every event
// gets its own sequence number and the chain verifies.
func testConcurrentAppendsChainInOrder(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	it := mustCreate(t, w, ps)
	const n = 20
	seqs := make(chan int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ap, err := w.svc.Append(ctx, ps.worker, ps.caseID, it.ID, note(newID(), fmt.Sprintf("note %d", i)))
			if err != nil {
				t.Errorf("append %d: %v", i, err)
				return
			}
			seqs <- ap.Event.Seq
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] || s < 2 || s > n+1 {
			t.Errorf("sequence number %d given twice or out of range", s)
		}
		seen[s] = true
	}
	events, next, err := w.svc.Events(ctx, ps.worker, ps.caseID, it.ID, 0, 0)
	if err != nil || next != 0 || len(events) != n+1 {
		t.Fatalf("events: %v, %d of them, next %d", err, len(events), next)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) || (i > 0 && e.PrevHash != events[i-1].Hash) {
			t.Errorf("event %d: seq %d, linked %v", i, e.Seq, i == 0 || e.PrevHash == events[i-1].Hash)
		}
	}
	if rep, err := w.svc.VerifyItem(ctx, ps.worker, ps.caseID, it.ID, ""); err != nil || !rep.OK || rep.HeadSeq != n+1 {
		t.Errorf("verification: %v, %+v", err, rep)
	}
}

func testListItemsPages(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	var ids []string
	for range 3 {
		ids = append(ids, mustCreate(t, w, ps).ID)
	}
	first, err := w.svc.ListItems(ctx, ps.supervisor, ps.caseID, "", 2)
	if err != nil || len(first.Items) != 2 || first.Next == "" {
		t.Fatalf("first page: %v, %+v", err, first)
	}
	second, err := w.svc.ListItems(ctx, ps.supervisor, ps.caseID, first.Next, 2)
	if err != nil || len(second.Items) != 1 || second.Next != "" {
		t.Fatalf("second page: %v, %+v", err, second)
	}
	got := []string{first.Items[0].ID, first.Items[1].ID, second.Items[0].ID}
	for i := range ids {
		if got[i] != ids[i] {
			t.Errorf("pages list %v, want %v (creation order)", got, ids)
			break
		}
	}
	tests := []struct {
		name   string
		p      identity.Principal
		cursor string
		code   string
	}{
		{"a cursor it did not make", ps.supervisor, "not-a-cursor", "validation_failed"},
		{"a caseworker not assigned", ps.stranger, "", "case_not_found"},
		{"another organisation", ps.abroad, "", "case_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := w.svc.ListItems(ctx, tc.p, ps.caseID, tc.cursor, 2); code(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// An item is found only on its own case: another case of the organisation, or an id that is no
// UUID, answers evidence_item_not_found and records a denied read.
func testItemOnlyOnItsCase(t *testing.T, w *world) {
	ctx := context.Background()
	ps := newCase(t, w, false)
	it := mustCreate(t, w, ps)
	otherCase := newID()
	w.cases.add(casework.Case{ID: otherCase, OrgID: ps.worker.OrgID, Status: casework.StatusOpen, CaseworkerIDs: []string{ps.worker.UserID}})
	for _, tc := range []struct{ name, caseID, itemID string }{
		{"another case", otherCase, it.ID},
		{"not a UUID", ps.caseID, "nope"},
		{"unknown", ps.caseID, newID()},
	} {
		t.Run(tc.name, func(t *testing.T) { // in turn: the audit log is checked after them
			if _, err := w.svc.Item(ctx, ps.worker, tc.caseID, tc.itemID); code(err) != "evidence_item_not_found" {
				t.Errorf("got %v", err)
			}
		})
	}
	if _, err := w.svc.Item(ctx, ps.worker, ps.caseID, it.ID); err != nil {
		t.Errorf("its own case: %v", err)
	}
	if !w.events.has(evidence.ActionItemRead, it.ID, audit.OutcomeDenied) {
		t.Error("the read through another case is not in the audit log as denied")
	}
}
