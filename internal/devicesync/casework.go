package devicesync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The push operations of cases and protocol runs, applied through casework.Service (which checks
// access and records every write in the audit log).
//
//	case create  Payload casework.NewCase (ID = the case id)
//	case update  Payload CaseChanges, Base CaseChanges (the device's values before its change), BaseVersion
//	case close   Payload CaseStatusChange, BaseVersion; a stale base version is a conflict
//	case reopen  Payload CaseStatusChange, BaseVersion; a stale base version is a conflict
//	run create   Payload RunStart (ID = the run id, CaseID)
//	run append   Payload casework.NewStepRecord (ID = the run id, CaseID); never conflicts

// ChildChanges are changed fields of a case's child; nil fields are unchanged.
type ChildChanges struct {
	Pseudonym         *string
	AgeBand           *protocol.AgeBand
	BirthYear         *int
	Gender            *casework.Gender
	PreferredLanguage *string
	Needs             *casework.Needs // replaced as a whole
}

// CaseChanges are the changed fields of a case; nil fields are unchanged.
type CaseChanges struct {
	ReferenceNumber *string
	Child           *ChildChanges
	CaseTypes       *[]protocol.CaseType
	CaseworkerIDs   *[]string
	SupervisorID    *string
}

// CaseStatusChange closes or reopens a case.
type CaseStatusChange struct {
	Reason string
}

// RunStart starts a protocol run.
type RunStart struct {
	ProtocolID string
}

// caseField is one field of a case an update may change, as the API names it.
type caseField = field[casework.Case, CaseChanges]

func childSet[T any](get func(*ChildChanges) *T) func(CaseChanges) bool {
	return func(ch CaseChanges) bool { return ch.Child != nil && get(ch.Child) != nil }
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

var caseFields = []caseField{
	{"reference_number", func(ch CaseChanges) bool { return ch.ReferenceNumber != nil },
		func(c casework.Case, ch CaseChanges) bool { return c.ReferenceNumber == *ch.ReferenceNumber },
		func(c *casework.Case, ch CaseChanges) { c.ReferenceNumber = *ch.ReferenceNumber }},
	{"child.pseudonym", childSet(func(c *ChildChanges) *string { return c.Pseudonym }),
		func(c casework.Case, ch CaseChanges) bool { return c.Child.Pseudonym == *ch.Child.Pseudonym },
		func(c *casework.Case, ch CaseChanges) { c.Child.Pseudonym = *ch.Child.Pseudonym }},
	{"child.age_band", childSet(func(c *ChildChanges) *protocol.AgeBand { return c.AgeBand }),
		func(c casework.Case, ch CaseChanges) bool { return c.Child.AgeBand == *ch.Child.AgeBand },
		func(c *casework.Case, ch CaseChanges) { c.Child.AgeBand = *ch.Child.AgeBand }},
	{"child.birth_year", childSet(func(c *ChildChanges) *int { return c.BirthYear }),
		func(c casework.Case, ch CaseChanges) bool { return c.Child.BirthYear == *ch.Child.BirthYear },
		func(c *casework.Case, ch CaseChanges) { c.Child.BirthYear = *ch.Child.BirthYear }},
	{"child.gender", childSet(func(c *ChildChanges) *casework.Gender { return c.Gender }),
		func(c casework.Case, ch CaseChanges) bool { return c.Child.Gender == *ch.Child.Gender },
		func(c *casework.Case, ch CaseChanges) { c.Child.Gender = *ch.Child.Gender }},
	{"child.preferred_language", childSet(func(c *ChildChanges) *string { return c.PreferredLanguage }),
		func(c casework.Case, ch CaseChanges) bool {
			return c.Child.PreferredLanguage == *ch.Child.PreferredLanguage
		},
		func(c *casework.Case, ch CaseChanges) { c.Child.PreferredLanguage = *ch.Child.PreferredLanguage }},
	{"child.needs", childSet(func(c *ChildChanges) *casework.Needs { return c.Needs }),
		func(c casework.Case, ch CaseChanges) bool { return c.Child.Needs == *ch.Child.Needs },
		func(c *casework.Case, ch CaseChanges) { c.Child.Needs = *ch.Child.Needs }},
	{"case_types", func(ch CaseChanges) bool { return ch.CaseTypes != nil },
		func(c casework.Case, ch CaseChanges) bool { return sameSet(c.CaseTypes, *ch.CaseTypes) },
		func(c *casework.Case, ch CaseChanges) { c.CaseTypes = slices.Clone(*ch.CaseTypes) }},
	{"caseworker_ids", func(ch CaseChanges) bool { return ch.CaseworkerIDs != nil },
		func(c casework.Case, ch CaseChanges) bool { return sameSet(c.CaseworkerIDs, *ch.CaseworkerIDs) },
		func(c *casework.Case, ch CaseChanges) { c.CaseworkerIDs = slices.Clone(*ch.CaseworkerIDs) }},
	{"supervisor_id", func(ch CaseChanges) bool { return ch.SupervisorID != nil },
		func(c casework.Case, ch CaseChanges) bool { return c.SupervisorID == *ch.SupervisorID },
		func(c *casework.Case, ch CaseChanges) { c.SupervisorID = *ch.SupervisorID }},
}

// CaseRecord returns a case as a sync record.
func CaseRecord(c casework.Case) Record {
	return Record{Type: TypeCase, ID: c.ID, OrgID: c.OrgID, CaseID: c.ID, Version: c.Version, UpdatedAt: c.UpdatedAt, Data: c,
		CaseworkerIDs: c.CaseworkerIDs}
}

// RunRecord returns a run as a sync record.
func RunRecord(r casework.Run) Record {
	at := r.StartedAt
	for _, rec := range r.Records {
		if rec.ReceivedAt.After(at) {
			at = rec.ReceivedAt
		}
	}
	return Record{Type: TypeRun, ID: r.ID, OrgID: r.OrgID, CaseID: r.CaseID, UpdatedAt: at, Data: r}
}

// The kinds of case and run operations.
var (
	CaseCreate = Kind[casework.NewCase]{TypeCase, ActionCreate}
	CaseUpdate = Kind[CaseChanges]{TypeCase, ActionUpdate}
	CaseClose  = Kind[CaseStatusChange]{TypeCase, ActionClose}
	CaseReopen = Kind[CaseStatusChange]{TypeCase, ActionReopen}
	RunCreate  = Kind[RunStart]{TypeRun, ActionCreate}
	RunAppend  = Kind[casework.NewStepRecord]{TypeRun, ActionAppend}
)

// CaseAppliers returns the handlers of case operations, applied through cases: create, update at
// a base version (merged field by field), close and reopen at a base version. Their errors are
// casework's.
func CaseAppliers(cases *casework.Service) []Applier {
	a := caseApplier{cases}
	return []Applier{
		Handle(CaseCreate, Handler[casework.NewCase]{Check: a.checkCreate, Apply: a.create}),
		Handle(CaseUpdate, Handler[CaseChanges]{Check: a.checkUpdate, Apply: a.updateAtBase}),
		Handle(CaseClose, Handler[CaseStatusChange]{Check: a.checkStatus(casework.ActionCaseClose), Apply: a.setStatus(cases.Close)}),
		Handle(CaseReopen, Handler[CaseStatusChange]{Check: a.checkStatus(casework.ActionCaseReopen), Apply: a.setStatus(cases.Reopen)}),
	}
}

type caseApplier struct{ cases *casework.Service }

// checkCreate validates a case create fully.
func (a caseApplier) checkCreate(ctx context.Context, p identity.Principal, op Op[casework.NewCase], _ Created) error {
	nc := op.Data
	nc.ID = op.ID
	return a.cases.CheckCreate(ctx, p, nc)
}

// create creates a case (a retried create with the same content is a no-op).
func (a caseApplier) create(ctx context.Context, p identity.Principal, op Op[casework.NewCase]) (Result, error) {
	nc := op.Data
	nc.ID = op.ID
	c, _, err := a.cases.Create(ctx, p, nc)
	if err != nil {
		return Result{}, err
	}
	rec := CaseRecord(c)
	return Result{Status: StatusApplied, ID: c.ID, Record: &rec}, nil
}

// checkUpdate checks access to the case (unless the group creates it).
func (a caseApplier) checkUpdate(ctx context.Context, p identity.Principal, op Op[CaseChanges], created Created) error {
	if created[TypeCase][op.ID] {
		return nil
	}
	_, _, err := a.cases.CaseAccess(ctx, p, op.ID, casework.ActionCaseUpdate)
	return err
}

// updateAtBase updates a case at its base version: when the base is stale, the device's changes
// are merged if the server changed none of the same fields since (judged by op.Base, the device's
// values before its change), and a conflict with the server copy otherwise.
func (a caseApplier) updateAtBase(ctx context.Context, p identity.Principal, op Op[CaseChanges]) (Result, error) {
	if op.BaseVersion < 1 {
		return Result{}, errBaseVersion()
	}
	for range 3 { // another writer may get in between the read and the write
		r, err := a.update(ctx, p, op.ID, op.BaseVersion, op.Data, op.Base)
		if errors.Is(err, casework.ErrStale) {
			continue
		}
		return r, err
	}
	return Result{}, fmt.Errorf("case %s keeps changing", op.ID)
}

func (a caseApplier) update(ctx context.Context, p identity.Principal, id string, baseVersion int64, ch, base CaseChanges) (Result, error) {
	cur, err := a.cases.Get(ctx, p, id)
	if err != nil {
		return Result{}, err
	}
	m := merge(caseFields, cur, cur.Version, baseVersion, ch, base)
	want, merged, conflicting := m.want, m.merged, m.conflicting
	if len(m.changed) == 0 {
		return Result{}, badPayload("changes")
	}
	if len(conflicting) > 0 {
		rec := CaseRecord(cur)
		return Result{Status: StatusConflict, ID: id, Current: &rec, ConflictingFields: conflicting}, nil
	}
	if len(merged) == 0 { // the case already is as the device wants it
		rec := CaseRecord(cur)
		return Result{Status: StatusApplied, ID: id, Record: &rec}, nil
	}
	upd := casework.CaseUpdate{}
	for _, name := range merged {
		switch {
		case name == "reference_number":
			upd.ReferenceNumber = &want.ReferenceNumber
		case name == "case_types":
			upd.CaseTypes = &want.CaseTypes
		case name == "caseworker_ids":
			upd.CaseworkerIDs = &want.CaseworkerIDs
		case name == "supervisor_id":
			upd.SupervisorID = &want.SupervisorID
		default:
			upd.Child = &want.Child
		}
	}
	c, err := a.cases.Update(ctx, p, id, upd, cur.Version)
	if err != nil {
		return Result{}, err
	}
	rec := CaseRecord(c)
	if cur.Version == baseVersion {
		return Result{Status: StatusApplied, ID: id, Record: &rec}, nil
	}
	return Result{Status: StatusMerged, ID: id, Record: &rec, MergedFields: merged}, nil
}

// checkStatus checks a close or reopen: the reason, the base version and access to the case
// (unless the group creates it).
func (a caseApplier) checkStatus(action string) func(context.Context, identity.Principal, Op[CaseStatusChange], Created) error {
	return func(ctx context.Context, p identity.Principal, op Op[CaseStatusChange], created Created) error {
		if op.Data.Reason == "" {
			return badPayload("data.reason")
		}
		if op.BaseVersion < 1 {
			return errBaseVersion()
		}
		if created[TypeCase][op.ID] {
			return nil
		}
		_, _, err := a.cases.CaseAccess(ctx, p, op.ID, action)
		return err
	}
}

// setStatus closes or reopens (set) a case at its base version; a stale base version is a
// conflict with the server copy (a status change is not merged: the device decided on the case
// as it had it).
func (a caseApplier) setStatus(set func(ctx context.Context, p identity.Principal, id, reason string, version int64) (casework.Case, error)) func(context.Context, identity.Principal, Op[CaseStatusChange]) (Result, error) {
	return func(ctx context.Context, p identity.Principal, op Op[CaseStatusChange]) (Result, error) {
		if op.BaseVersion < 1 {
			return Result{}, errBaseVersion()
		}
		c, err := set(ctx, p, op.ID, op.Data.Reason, op.BaseVersion)
		var stale *casework.StaleError
		if errors.As(err, &stale) {
			rec := CaseRecord(stale.Current)
			return Result{Status: StatusConflict, ID: op.ID, Current: &rec, ConflictingFields: []string{"status"}}, nil
		}
		if err != nil {
			return Result{}, err
		}
		rec := CaseRecord(c)
		return Result{Status: StatusApplied, ID: c.ID, Record: &rec}, nil
	}
}

// RunAppliers returns the handlers of protocol run operations, applied through cases: create
// (start) and append (a step record, idempotent by its client id; appends never conflict). Checks
// take the runs and cases created earlier in the group into account. Their errors are casework's.
func RunAppliers(cases *casework.Service) []Applier {
	return []Applier{
		Handle(RunCreate, Handler[RunStart]{
			Check: func(ctx context.Context, p identity.Principal, op Op[RunStart], created Created) error {
				return cases.CheckStartRun(ctx, p, op.CaseID, created[TypeCase][op.CaseID], op.ID, op.Data.ProtocolID)
			},
			Apply: func(ctx context.Context, p identity.Principal, op Op[RunStart]) (Result, error) {
				r, _, err := cases.StartRun(ctx, p, op.CaseID, op.ID, op.Data.ProtocolID)
				if err != nil {
					return Result{}, err
				}
				rec := RunRecord(r)
				return Result{Status: StatusApplied, ID: r.ID, Record: &rec}, nil
			}}),
		Handle(RunAppend, Handler[casework.NewStepRecord]{
			Check: func(ctx context.Context, p identity.Principal, op Op[casework.NewStepRecord], created Created) error {
				return cases.CheckStepRecord(ctx, p, op.CaseID, op.ID, created[TypeRun][op.ID], op.Data)
			},
			Apply: func(ctx context.Context, p identity.Principal, op Op[casework.NewStepRecord]) (Result, error) {
				v, err := cases.RecordStep(ctx, p, op.CaseID, op.ID, op.Data)
				if err != nil {
					return Result{}, err
				}
				rec := RunRecord(v.Run)
				return Result{Status: StatusApplied, ID: v.Run.ID, Record: &rec}, nil
			}}),
	}
}
