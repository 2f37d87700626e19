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

// EvidenceItemApplier applies evidence item operations.
type EvidenceItemApplier struct{ Evidence *evidence.Service }

// Check validates an item create, taking cases created earlier in the group into account. It
// returns evidence's errors.
func (a EvidenceItemApplier) Check(ctx context.Context, p identity.Principal, op Operation, created map[string]map[string]bool) error {
	if op.Action != ActionCreate {
		return errAction(op.Action)
	}
	ni, perr := payloadOf[evidence.NewItem](op, "data")
	if perr != nil {
		return perr
	}
	ni.ID = op.ID
	return a.Evidence.CheckCreateItem(ctx, p, op.CaseID, created[TypeCase][op.CaseID], ni)
}

// Apply records an item and the first event of its chain (a retried create with the same content is
// a no-op). It returns evidence's errors.
func (a EvidenceItemApplier) Apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	if op.Action != ActionCreate {
		return Result{}, errAction(op.Action)
	}
	ni, perr := payloadOf[evidence.NewItem](op, "data")
	if perr != nil {
		return Result{}, perr
	}
	ni.ID = op.ID
	it, _, err := a.Evidence.CreateItem(ctx, p, op.CaseID, ni)
	if err != nil {
		return Result{}, err
	}
	rec := EvidenceItemRecord(it)
	return Result{Status: StatusApplied, ID: it.ID, Record: &rec}, nil
}

// CustodyEventApplier applies custody event appends.
type CustodyEventApplier struct{ Evidence *evidence.Service }

// Check validates an append, taking items created earlier in the group into account. It returns
// evidence's errors.
func (a CustodyEventApplier) Check(ctx context.Context, p identity.Principal, op Operation, created map[string]map[string]bool) error {
	if op.Action != ActionAppend {
		return errAction(op.Action)
	}
	ca, perr := payloadOf[CustodyAppend](op, "data")
	if perr != nil {
		return perr
	}
	ca.Event.ID = op.ID
	return a.Evidence.CheckAppend(ctx, p, op.CaseID, ca.ItemID, created[TypeEvidenceItem][ca.ItemID], ca.Event)
}

// Apply appends the event to its item's chain; a retry (the same event id and content) adds
// nothing and returns the stored event. Appends never conflict; an event the chain refuses (a
// destroyed item, a legal hold, an event id used for other content) is rejected. It returns
// evidence's errors.
func (a CustodyEventApplier) Apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	if op.Action != ActionAppend {
		return Result{}, errAction(op.Action)
	}
	ca, perr := payloadOf[CustodyAppend](op, "data")
	if perr != nil {
		return Result{}, perr
	}
	ca.Event.ID = op.ID
	ap, err := a.Evidence.Append(ctx, p, op.CaseID, ca.ItemID, ca.Event)
	if err != nil {
		return Result{}, err
	}
	rec := CustodyEventRecord(ap.Event)
	return Result{Status: StatusApplied, ID: ap.Event.ID, Record: &rec}, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
