package devicesync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
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

// CaseApplier applies case operations.
type CaseApplier struct{ Cases *casework.Service }

// payloadOf returns op's payload as the type P its applier takes (the caller decodes each
// operation's data once, into that type), or the field error of a missing payload naming field.
func payloadOf[P any](op Operation, field string) (P, error) {
	v, ok := op.Payload.(P)
	if !ok {
		return v, badPayload(field)
	}
	return v, nil
}

func badPayload(field string) error {
	return apperr.Validation(apperr.FieldError{Field: field, Code: "required", MessageID: "field.required"})
}

func errAction(a Action) error {
	return apperr.Validation(apperr.FieldError{Field: "action", Code: "unsupported", MessageID: "field.sync_action", Data: map[string]any{"Action": string(a)}})
}

// Check validates a case create (fully), or an update, close or reopen (access and the reason
// only). It returns casework's errors.
func (a CaseApplier) Check(ctx context.Context, p identity.Principal, op Operation, created map[string]map[string]bool) error {
	switch op.Action {
	case ActionCreate:
		nc, perr := payloadOf[casework.NewCase](op, "data")
		if perr != nil {
			return perr
		}
		nc.ID = op.ID
		return a.Cases.CheckCreate(ctx, p, nc)
	case ActionUpdate:
		if created[TypeCase][op.ID] {
			return nil
		}
		_, _, err := a.Cases.CaseAccess(ctx, p, op.ID, casework.ActionCaseUpdate)
		return err
	case ActionClose, ActionReopen:
		sc, ok := op.Payload.(CaseStatusChange)
		if !ok || sc.Reason == "" {
			return badPayload("data.reason")
		}
		if op.BaseVersion < 1 {
			return apperr.Validation(apperr.FieldError{Field: "base_version", Code: "required", MessageID: "field.required"})
		}
		if created[TypeCase][op.ID] {
			return nil
		}
		action := casework.ActionCaseClose
		if op.Action == ActionReopen {
			action = casework.ActionCaseReopen
		}
		_, _, err := a.Cases.CaseAccess(ctx, p, op.ID, action)
		return err
	}
	return errAction(op.Action)
}

// Apply creates a case, closes or reopens one at its base version (a stale one is a conflict with
// the server copy), or updates one at its base version: when the base is stale, the device's
// changes are merged if the server changed none of the same fields since (judged by op.Base, the
// device's values before its change), and a conflict with the server copy otherwise. It returns
// casework's errors.
func (a CaseApplier) Apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	switch op.Action {
	case ActionCreate:
		nc, perr := payloadOf[casework.NewCase](op, "data")
		if perr != nil {
			return Result{}, perr
		}
		nc.ID = op.ID
		c, _, err := a.Cases.Create(ctx, p, nc)
		if err != nil {
			return Result{}, err
		}
		rec := CaseRecord(c)
		return Result{Status: StatusApplied, ID: c.ID, Record: &rec}, nil
	case ActionUpdate:
		ch, perr := payloadOf[CaseChanges](op, "changes")
		if perr != nil {
			return Result{}, perr
		}
		base, _ := op.Base.(CaseChanges)
		if op.BaseVersion < 1 {
			return Result{}, apperr.Validation(apperr.FieldError{Field: "base_version", Code: "required", MessageID: "field.required"})
		}
		for range 3 { // another writer may get in between the read and the write
			r, err := a.update(ctx, p, op.ID, op.BaseVersion, ch, base)
			if errors.Is(err, casework.ErrStale) {
				continue
			}
			return r, err
		}
		return Result{}, fmt.Errorf("case %s keeps changing", op.ID)
	case ActionClose, ActionReopen:
		return a.setStatus(ctx, p, op)
	}
	return Result{}, errAction(op.Action)
}

func (a CaseApplier) update(ctx context.Context, p identity.Principal, id string, baseVersion int64, ch, base CaseChanges) (Result, error) {
	cur, err := a.Cases.Get(ctx, p, id)
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
	c, err := a.Cases.Update(ctx, p, id, upd, cur.Version)
	if err != nil {
		return Result{}, err
	}
	rec := CaseRecord(c)
	if cur.Version == baseVersion {
		return Result{Status: StatusApplied, ID: id, Record: &rec}, nil
	}
	return Result{Status: StatusMerged, ID: id, Record: &rec, MergedFields: merged}, nil
}

// setStatus closes or reopens a case at its base version; a stale base version is a conflict with
// the server copy (a status change is not merged: the device decided on the case as it had it).
func (a CaseApplier) setStatus(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	sc, perr := payloadOf[CaseStatusChange](op, "data")
	if perr != nil {
		return Result{}, perr
	}
	if op.BaseVersion < 1 {
		return Result{}, apperr.Validation(apperr.FieldError{Field: "base_version", Code: "required", MessageID: "field.required"})
	}
	set := a.Cases.Close
	if op.Action == ActionReopen {
		set = a.Cases.Reopen
	}
	c, err := set(ctx, p, op.ID, sc.Reason, op.BaseVersion)
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

// RunApplier applies protocol run operations: create (start) and append (a step record).
type RunApplier struct{ Cases *casework.Service }

// Check validates a run start or a step record, taking runs and cases created earlier in the group
// into account. It returns casework's errors.
func (a RunApplier) Check(ctx context.Context, p identity.Principal, op Operation, created map[string]map[string]bool) error {
	switch op.Action {
	case ActionCreate:
		rs, perr := payloadOf[RunStart](op, "data")
		if perr != nil {
			return perr
		}
		return a.Cases.CheckStartRun(ctx, p, op.CaseID, created[TypeCase][op.CaseID], op.ID, rs.ProtocolID)
	case ActionAppend:
		nr, perr := payloadOf[casework.NewStepRecord](op, "data")
		if perr != nil {
			return perr
		}
		return a.Cases.CheckStepRecord(ctx, p, op.CaseID, op.ID, created[TypeRun][op.ID], nr)
	}
	return errAction(op.Action)
}

// Apply starts a run or appends a step record (idempotent by the record's client id; appends never
// conflict). It returns casework's errors.
func (a RunApplier) Apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	switch op.Action {
	case ActionCreate:
		rs, perr := payloadOf[RunStart](op, "data")
		if perr != nil {
			return Result{}, perr
		}
		r, _, err := a.Cases.StartRun(ctx, p, op.CaseID, op.ID, rs.ProtocolID)
		if err != nil {
			return Result{}, err
		}
		rec := RunRecord(r)
		return Result{Status: StatusApplied, ID: r.ID, Record: &rec}, nil
	case ActionAppend:
		nr, perr := payloadOf[casework.NewStepRecord](op, "data")
		if perr != nil {
			return Result{}, perr
		}
		v, err := a.Cases.RecordStep(ctx, p, op.CaseID, op.ID, nr)
		if err != nil {
			return Result{}, err
		}
		rec := RunRecord(v.Run)
		return Result{Status: StatusApplied, ID: v.Run.ID, Record: &rec}, nil
	}
	return Result{}, errAction(op.Action)
}
