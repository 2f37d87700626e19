package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Service records evidence items and their custody chains, enforcing who may see which case,
// recording every access in the audit log, and signing every new head of a chain.
type Service struct {
	store  Store
	cases  Cases
	events audit.Recorder
	signer *ReceiptSigner
	now    func() time.Time
	users  Directory    // nil: parties named by user id are not checked
	cps    Checkpointer // nil: no checkpoints (see WithCheckpoints)

	mu     sync.Mutex
	chains map[string]*chainLog // by item id
}

// NewService returns a Service. now is the clock (nil: time.Now).
func NewService(store Store, cases Cases, events audit.Recorder, signer *ReceiptSigner, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, events: events, signer: signer, now: now, chains: map[string]*chainLog{}}
}

// Signer returns the receipt signer.
func (s *Service) Signer() *ReceiptSigner { return s.signer }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// CreateItem records a new item on a case, and its first custody event ("collected", from the
// acquisition: who, when, where, sealed with the item's digest), and returns the item with its
// signed head. created is false when the same item was recorded before (a retry): then the stored
// item is returned. It returns identity.ErrForbidden for roles without case access; a NotFound
// *apperr.Error (case_not_found) for a case the caller may not see; an Invalid one with field errors,
// or case_closed; a Conflict (evidence_item_id_conflict) when the id is taken by other content; or
// the store's or recorder's error.
func (s *Service) CreateItem(ctx context.Context, p identity.Principal, caseID string, ni NewItem) (Item, bool, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionItemCreate)
	if err != nil {
		return Item{}, false, err
	}
	if c.Status == casework.StatusClosed {
		return Item{}, false, errCaseClosed(caseID)
	}
	now := s.clock()
	var fe fieldErrors
	it := fe.item("", ni, p.UserID, now)
	if err := fe.Err(); err != nil {
		return Item{}, false, err
	}
	it.OrgID, it.CaseID, it.CreatedAt, it.UpdatedAt, it.CreatedBy = c.OrgID, c.ID, now, now, p.UserID
	it, created, err := s.createItem(ctx, it)
	if err != nil {
		return Item{}, false, err
	}
	if err := s.record(ctx, p, role, ActionItemCreate, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Item{}, false, err
	}
	return it, created, nil
}

// createItem stores it and appends its collected event; a repeated identical item is completed and
// returned with created false.
func (s *Service) createItem(ctx context.Context, it Item) (Item, bool, error) {
	it.State = State{StorageLocation: it.StorageLocation, SealNumber: it.SealNumber}
	created := true
	err := s.store.CreateItem(ctx, it)
	if errors.Is(err, ErrExists) {
		cur, rerr := s.store.Item(ctx, it.ID)
		if rerr != nil {
			return Item{}, false, fmt.Errorf("reading evidence item %s: %w", it.ID, rerr)
		}
		if !sameItem(cur, it) {
			return Item{}, false, errItemIDConflict(it.ID)
		}
		it, created = cur, false
	} else if err != nil {
		return Item{}, false, fmt.Errorf("creating evidence item %s: %w", it.ID, err)
	}
	if !created && it.Head.Seq > 0 {
		return it, false, nil
	}
	collected := Event{ID: it.ID, OrgID: it.OrgID, CaseID: it.CaseID, ItemID: it.ID, Type: EventCollected,
		RecordedAt: it.Acquisition.At, RecordedBy: it.CreatedBy, PerformedBy: it.Acquisition.By, Place: it.Acquisition.Place,
		SealNumber: it.SealNumber, ItemDigest: it.Digest()}
	r, err := s.queue(ctx, it, collected) // a collected event already stored comes back as a duplicate
	if err != nil {
		return Item{}, false, err
	}
	if r.err != nil {
		return Item{}, false, r.err
	}
	if r.dup {
		cur, err := s.store.Item(ctx, it.ID)
		return cur, false, err
	}
	return r.item, created, nil
}

// sameItem reports whether a stored item has the content of a new one (a retried create).
func sameItem(cur, it Item) bool {
	a, b := cur, it
	a.CreatedAt, a.UpdatedAt, a.CreatedBy, a.State, a.Head = time.Time{}, time.Time{}, "", State{}, Head{}
	b.CreatedAt, b.UpdatedAt, b.CreatedBy, b.State, b.Head = time.Time{}, time.Time{}, "", State{}, Head{}
	a.Acquisition.By, b.Acquisition.By = Party{}, Party{}
	return string(a.CanonicalJSON()) == string(b.CanonicalJSON())
}

// ListItems returns up to limit items of a case (below 1: DefaultItemPage; at most MaxItemPage), by
// creation time then id, after the cursor after ("": from the first). It returns an Invalid
// *apperr.Error for a cursor it did not make, or the errors of CreateItem's access check.
func (s *Service) ListItems(ctx context.Context, p identity.Principal, caseID, after string, limit int) (ItemPage, error) {
	var from ItemKey
	if after != "" {
		var err error
		if from, err = parseItemKey(after); err != nil {
			return ItemPage{}, err
		}
	}
	if limit < 1 {
		limit = DefaultItemPage
	}
	limit = min(limit, MaxItemPage)
	_, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionItemList)
	if err != nil {
		return ItemPage{}, err
	}
	items, err := s.store.ListItems(ctx, caseID, from, limit+1)
	if err != nil {
		return ItemPage{}, fmt.Errorf("listing evidence of case %s: %w", caseID, err)
	}
	page := ItemPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := items[limit-1]
		page.Next = ItemKey{CreatedAt: last.CreatedAt, ID: last.ID}.String()
	}
	page.Items = slices.DeleteFunc(page.Items, func(it Item) bool { return it.OrgID != p.OrgID })
	if err := s.record(ctx, p, role, ActionItemList, resourceCase, caseID, audit.OutcomeSuccess); err != nil {
		return ItemPage{}, err
	}
	return page, nil
}

// Item returns an item of a case. It returns the errors of CreateItem's access check, or a NotFound
// *apperr.Error (evidence_item_not_found) for an item that is not on the case.
func (s *Service) Item(ctx context.Context, p identity.Principal, caseID, itemID string) (Item, error) {
	it, role, err := s.itemFor(ctx, p, caseID, itemID, ActionItemRead)
	if err != nil {
		return Item{}, err
	}
	if err := s.record(ctx, p, role, ActionItemRead, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Item{}, err
	}
	return it, nil
}

// itemFor checks p's access to the case and reads item itemID of it.
func (s *Service) itemFor(ctx context.Context, p identity.Principal, caseID, itemID, action string) (Item, identity.Role, error) {
	_, role, err := s.cases.CaseAccess(ctx, p, caseID, action)
	if err != nil {
		return Item{}, "", err
	}
	if !apperr.ValidUUID(itemID) {
		return Item{}, "", s.failed(ctx, p, role, action, "", errItemNotFound(itemID))
	}
	it, err := s.store.Item(ctx, itemID)
	if errors.Is(err, ErrNotFound) || (err == nil && (it.CaseID != caseID || it.OrgID != p.OrgID)) {
		return Item{}, "", s.failed(ctx, p, role, action, itemID, errItemNotFound(itemID))
	}
	if err != nil {
		return Item{}, "", fmt.Errorf("reading evidence item %s: %w", itemID, err)
	}
	return it, role, nil
}

// fixedItemFor is itemFor for appends: it reads the item from the store only the first time. An
// item's fixed fields (case, organisation, kind, hashes, flags) never change; its state may be
// outdated here, and the leader checks the rules against the current one.
func (s *Service) fixedItemFor(ctx context.Context, p identity.Principal, caseID, itemID, action string) (Item, identity.Role, error) {
	s.mu.Lock()
	var cached *Item
	if q := s.chains[itemID]; q != nil {
		cached = q.fixed
	}
	s.mu.Unlock()
	if cached == nil {
		return s.itemFor(ctx, p, caseID, itemID, action)
	}
	_, role, err := s.cases.CaseAccess(ctx, p, caseID, action)
	if err != nil {
		return Item{}, "", err
	}
	if cached.CaseID != caseID || cached.OrgID != p.OrgID {
		return Item{}, "", s.failed(ctx, p, role, action, itemID, errItemNotFound(itemID))
	}
	return cached.clone(), role, nil
}

// Appended is the answer to Append: the event as stored, the item after it, the signed receipt of
// the item's head (which covers the event), and whether the event is new (false: a retry).
type Appended struct {
	Event   Event
	Item    Item
	Receipt Receipt
	New     bool
}

// Append appends a custody event to an item's chain and returns it with the signed receipt of the
// new head. A retry (an event id already stored for this item with the same content) changes nothing
// and answers the stored event with the current receipt. A "copied" event first records the derived
// item (its own chain starts with a "collected" event). It returns the errors of Item; identity.ErrForbidden
// when a caseworker releases a legal hold (supervisors only); an Invalid *apperr.Error with field
// errors; a Conflict *apperr.Error: legal_hold (destroying an item under legal hold),
// evidence_item_destroyed (handling a destroyed item), custody_event_id_conflict (an event id used
// for other content); or the store's or recorder's error.
func (s *Service) Append(ctx context.Context, p identity.Principal, caseID, itemID string, ne NewEvent) (Appended, error) {
	it, role, err := s.fixedItemFor(ctx, p, caseID, itemID, ActionEventAppend)
	if err != nil {
		return Appended{}, err
	}
	now := s.clock()
	var fe fieldErrors
	e := fe.event(ne, it, p.UserID, now)
	var derived Item
	if ne.DerivedItem != nil {
		derived = fe.derivedItem(it, *ne.DerivedItem, p.UserID, now)
		e.DerivedItem = derived.ID
	}
	if err := s.checkParties(ctx, &fe, it.OrgID, p.UserID, namedParty{"performed_by", e.PerformedBy}, namedParty{"from", e.From},
		namedParty{"to", e.To}); err != nil {
		return Appended{}, err
	}
	if err := fe.Err(); err != nil {
		return Appended{}, err
	}
	if e.Type == EventLegalHold && !*e.Hold && role != identity.RoleSupervisor {
		return Appended{}, s.failed(ctx, p, role, ActionEventAppend, it.ID, identity.ErrForbidden)
	}
	if e.Type == EventCopied {
		// The rules are checked in chain order by the leader; checked here too so that a refused copy
		// leaves no derived item behind.
		if err := allowed(it.State, it, e); err != nil {
			return Appended{}, s.failed(ctx, p, role, ActionEventAppend, it.ID, err)
		}
		if _, _, err := s.createItem(ctx, derived); err != nil {
			return Appended{}, err
		}
	}
	r, err := s.queue(ctx, it, e)
	if err != nil {
		return Appended{}, err
	}
	if r.err != nil {
		if k := apperr.KindOf(r.err); k == apperr.Conflict || k == apperr.NotFound || k == apperr.Invalid {
			return Appended{}, s.failed(ctx, p, role, ActionEventAppend, it.ID, r.err)
		}
		return Appended{}, r.err
	}
	if r.dup {
		return s.appendedBefore(ctx, p, role, it, r.res, e)
	}
	if err := s.record(ctx, p, role, ActionEventAppend, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Appended{}, err
	}
	return Appended{Event: r.res, Item: r.item, Receipt: r.receipt, New: !r.dup}, nil
}

// appendedBefore answers a retried append: the stored event when it has the same content.
func (s *Service) appendedBefore(ctx context.Context, p identity.Principal, role identity.Role, it Item, prev, e Event) (Appended, error) {
	if prev.ItemID != it.ID || !sameEvent(prev, e) {
		return Appended{}, s.failed(ctx, p, role, ActionEventAppend, it.ID, errEventIDConflict(e.ID))
	}
	cur, err := s.store.Item(ctx, it.ID)
	if err != nil {
		return Appended{}, fmt.Errorf("reading evidence item %s: %w", it.ID, err)
	}
	var rc Receipt
	if cur.Head.Receipt != "" {
		if rc, err = s.signer.Verify(cur.Head.Receipt); err != nil {
			rc = Receipt{}
		}
	}
	if err := s.record(ctx, p, role, ActionEventAppend, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Appended{}, err
	}
	return Appended{Event: prev, Item: cur, Receipt: rc}, nil
}

// sameEvent compares what a client sent (chain fields and server time aside).
func sameEvent(stored, sent Event) bool {
	a, b := stored, sent
	for _, x := range []*Event{&a, &b} {
		x.Seq, x.PrevHash, x.Hash, x.ReceivedAt, x.Unreadable, x.RecordedBy = 0, "", "", time.Time{}, false, ""
	}
	return string(a.CanonicalJSON()) == string(b.CanonicalJSON())
}

// allowed checks e against the item's state before it (the rules that depend on the chain).
func allowed(st State, it Item, e Event) error {
	switch {
	case st.Status == "" && e.Type != EventCollected:
		return errItemNotFound(it.ID) // the item's first event is not written yet
	case st.Status == StatusDestroyed && e.Type != EventNote && e.Type != EventCorrection:
		return errItemDestroyed(it.ID)
	case e.Type == EventDestroyed && st.LegalHold:
		return errLegalHold(it.ID)
	}
	return nil
}

// Events returns up to limit (0: 50, at most 200) events of an item with Seq > after, ascending,
// and the Seq to pass as after for the next page (0 on the last page). Errors as for Item.
func (s *Service) Events(ctx context.Context, p identity.Principal, caseID, itemID string, after int64, limit int) ([]Event, int64, error) {
	it, role, err := s.itemFor(ctx, p, caseID, itemID, ActionEventsRead)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = defaultEventsLimit
	}
	limit = min(limit, maxEventsLimit)
	events, err := s.store.Events(ctx, it.ID, max(after, 0), limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the custody chain of %s: %w", it.ID, err)
	}
	var next int64
	if len(events) > limit {
		events = events[:limit]
		next = events[limit-1].Seq
	}
	if err := s.record(ctx, p, role, ActionEventsRead, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return nil, 0, err
	}
	return events, next, nil
}

// Chain returns an item with its whole custody chain and its verification report, for an export.
// Errors as for Item.
func (s *Service) Chain(ctx context.Context, p identity.Principal, caseID, itemID string) (Item, []Event, Report, error) {
	it, role, err := s.itemFor(ctx, p, caseID, itemID, ActionExport)
	if err != nil {
		return Item{}, nil, Report{}, err
	}
	var events []Event
	rep, err := s.verify(ctx, it, "", func(e Event) { events = append(events, e) })
	if err != nil {
		return Item{}, nil, Report{}, err
	}
	if err := s.record(ctx, p, role, ActionExport, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Item{}, nil, Report{}, err
	}
	return it, events, rep, nil
}

// VerifyItem recomputes an item's chain and checks it against the item's head, its stored signed
// receipt and, when receipt is not empty, a receipt the caller kept (a compact JWS as Append returned
// it). Errors as for Item; an invalid receipt is reported in the Report, not as an error.
func (s *Service) VerifyItem(ctx context.Context, p identity.Principal, caseID, itemID, receipt string) (Report, error) {
	it, role, err := s.itemFor(ctx, p, caseID, itemID, ActionVerify)
	if err != nil {
		return Report{}, err
	}
	rep, err := s.verify(ctx, it, receipt, nil)
	if err != nil {
		return Report{}, err
	}
	if err := s.record(ctx, p, role, ActionVerify, resourceItem, it.ID, audit.OutcomeSuccess); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// CaseReport is the verification of every item of a case.
type CaseReport struct {
	CaseID string
	OK     bool
	Items  []Report
}

// VerifyCase verifies the chain of every item of a case. Errors as for ListItems.
func (s *Service) VerifyCase(ctx context.Context, p identity.Principal, caseID string) (CaseReport, error) {
	_, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionCaseVerify)
	if err != nil {
		return CaseReport{}, err
	}
	items, err := s.store.ListItems(ctx, caseID, ItemKey{}, 0)
	if err != nil {
		return CaseReport{}, fmt.Errorf("listing evidence of case %s: %w", caseID, err)
	}
	out := CaseReport{CaseID: caseID, OK: true, Items: []Report{}}
	for _, it := range items {
		if it.OrgID != p.OrgID {
			continue
		}
		rep, err := s.verify(ctx, it, "", nil)
		if err != nil {
			return CaseReport{}, err
		}
		out.OK = out.OK && rep.OK
		out.Items = append(out.Items, rep)
	}
	if err := s.record(ctx, p, role, ActionCaseVerify, resourceCase, caseID, audit.OutcomeSuccess); err != nil {
		return CaseReport{}, err
	}
	return out, nil
}

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, resourceType, resourceID string, outcome audit.Outcome) error {
	if err := s.events.RecordEvent(ctx, p.AuditEvent(role, action, resourceType, resourceID, outcome)); err != nil {
		return fmt.Errorf("recording evidence event %s: %w", action, err)
	}
	return nil
}

// failed records a refused operation (denied for not found or forbidden, failure otherwise) and
// returns cause, or the recorder's error.
func (s *Service) failed(ctx context.Context, p identity.Principal, role identity.Role, action, itemID string, cause error) error {
	outcome := audit.OutcomeFailure
	if errors.Is(cause, ErrNotFound) || errors.Is(cause, identity.ErrForbidden) {
		outcome = audit.OutcomeDenied
	}
	if !apperr.ValidUUID(itemID) {
		itemID = ""
	}
	if err := s.record(ctx, p, role, action, resourceItem, itemID, outcome); err != nil {
		return err
	}
	return cause
}
