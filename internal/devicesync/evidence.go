package devicesync

import (
	"context"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The push operations of evidence, applied through evidence.Service (which checks case access,
// validates, keeps the custody chain and its signed receipts, and records every write in the audit
// log).
//
//	evidence_item create   Payload evidence.NewItem (ID = the item id, CaseID); its chain starts
//	                       with a "collected" event
//	custody_event append   Payload CustodyAppend (ID = the event's client id, CaseID); never
//	                       conflicts, idempotent by the event id

// The record types of evidence.
const (
	TypeEvidenceItem = "evidence_item"
	TypeCustodyEvent = "custody_event"
)

// CustodyAppend is a custody event to append to item ItemID.
type CustodyAppend struct {
	ItemID string
	Event  evidence.NewEvent
}

// EvidenceItemRecord returns an item as a sync record.
func EvidenceItemRecord(it evidence.Item) Record {
	return Record{Type: TypeEvidenceItem, ID: it.ID, OrgID: it.OrgID, CaseID: it.CaseID, UpdatedAt: it.UpdatedAt, Data: it}
}

// CustodyEventRecord returns a custody event as a sync record; its id is the event's client id.
func CustodyEventRecord(e evidence.Event) Record {
	return Record{Type: TypeCustodyEvent, ID: e.ID, OrgID: e.OrgID, CaseID: e.CaseID, UpdatedAt: e.ReceivedAt, Data: e}
}

// The kinds of evidence operations.
var (
	EvidenceItemCreate = Kind[evidence.NewItem]{TypeEvidenceItem, ActionCreate}
	CustodyEventAppend = Kind[CustodyAppend]{TypeCustodyEvent, ActionAppend}
)

// EvidenceItemAppliers returns the handler of evidence item creates, applied through log: an item
// and the first event of its chain (a retried create with the same content is a no-op). Its check
// takes the cases created earlier in the group into account. Its errors are evidence's.
func EvidenceItemAppliers(log *evidence.Service) []Applier {
	return []Applier{Handle(EvidenceItemCreate, Handler[evidence.NewItem]{
		Check: func(ctx context.Context, p identity.Principal, op Op[evidence.NewItem], created Created) error {
			ni := op.Data
			ni.ID = op.ID
			return log.CheckCreateItem(ctx, p, op.CaseID, created[TypeCase][op.CaseID], ni)
		},
		Apply: func(ctx context.Context, p identity.Principal, op Op[evidence.NewItem]) (Result, error) {
			ni := op.Data
			ni.ID = op.ID
			it, _, err := log.CreateItem(ctx, p, op.CaseID, ni)
			if err != nil {
				return Result{}, err
			}
			rec := EvidenceItemRecord(it)
			return Result{Status: StatusApplied, ID: it.ID, Record: &rec}, nil
		}})}
}

// CustodyEventAppliers returns the handler of custody event appends, applied through log: the
// event is appended to its item's chain; a retry (the same event id and content) adds nothing and
// returns the stored event. Appends never conflict; an event the chain refuses (a destroyed item,
// a legal hold, an event id used for other content) is rejected. Its check takes the items created
// earlier in the group into account. Its errors are evidence's.
func CustodyEventAppliers(log *evidence.Service) []Applier {
	return []Applier{Handle(CustodyEventAppend, Handler[CustodyAppend]{
		Check: func(ctx context.Context, p identity.Principal, op Op[CustodyAppend], created Created) error {
			ev := op.Data.Event
			ev.ID = op.ID
			return log.CheckAppend(ctx, p, op.CaseID, op.Data.ItemID, created[TypeEvidenceItem][op.Data.ItemID], ev)
		},
		Apply: func(ctx context.Context, p identity.Principal, op Op[CustodyAppend]) (Result, error) {
			ev := op.Data.Event
			ev.ID = op.ID
			ap, err := log.Append(ctx, p, op.CaseID, op.Data.ItemID, ev)
			if err != nil {
				return Result{}, err
			}
			rec := CustodyEventRecord(ap.Event)
			return Result{Status: StatusApplied, ID: ap.Event.ID, Record: &rec}, nil
		}})}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
