package httpapi

import (
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The sync views and operation bodies of cases and protocol runs (their entries in syncTypes).

// runSyncView is a run with all its records, as a device stores it.
type runSyncView struct {
	runView
	Records []stepRecordView `json:"records"`
}

func toRunSyncView(r casework.Run) runSyncView {
	v := runSyncView{runView: toRunView(r), Records: make([]stepRecordView, len(r.Records))}
	for i, rec := range r.Records {
		v.Records[i] = toStepRecordView(rec)
	}
	return v
}

// childChangesBody and caseChangesBody are the changed fields of a case update; absent fields are
// unchanged.
type childChangesBody struct {
	Pseudonym         *string    `json:"pseudonym" validate:"omitempty,max_pseudonym"`
	AgeBand           *string    `json:"age_band" validate:"omitempty,age_band"`
	BirthYear         *int       `json:"birth_year" validate:"omitempty,min=0,max=2100"`
	Gender            *string    `json:"gender" validate:"omitempty,oneof=female male other undisclosed"`
	PreferredLanguage *string    `json:"preferred_language" validate:"omitempty,max_language"`
	Needs             *needsBody `json:"needs"`
}

type caseChangesBody struct {
	ReferenceNumber *string           `json:"reference_number" validate:"omitempty,max_case_reference"`
	Child           *childChangesBody `json:"child"`
	CaseTypes       *[]string         `json:"case_types" validate:"omitempty,min=1,max=5,dive,case_type"`
	CaseworkerIDs   *[]string         `json:"caseworker_ids" validate:"omitempty,max_caseworkers,dive,max_user_id"`
	SupervisorID    *string           `json:"supervisor_id" validate:"omitempty,max_user_id"`
}

func toCaseChanges(b caseChangesBody) devicesync.CaseChanges {
	ch := devicesync.CaseChanges{ReferenceNumber: b.ReferenceNumber, CaseworkerIDs: b.CaseworkerIDs, SupervisorID: b.SupervisorID}
	if b.CaseTypes != nil {
		types := toCaseTypes(*b.CaseTypes)
		ch.CaseTypes = &types
	}
	if c := b.Child; c != nil {
		cc := &devicesync.ChildChanges{Pseudonym: c.Pseudonym, BirthYear: c.BirthYear, PreferredLanguage: c.PreferredLanguage}
		if c.AgeBand != nil {
			band := protocol.AgeBand(*c.AgeBand)
			cc.AgeBand = &band
		}
		if c.Gender != nil {
			g := casework.Gender(*c.Gender)
			cc.Gender = &g
		}
		if c.Needs != nil {
			n := casework.Needs(*c.Needs)
			cc.Needs = &n
		}
		ch.Child = cc
	}
	return ch
}

func decodeCaseOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	switch op.Action {
	case string(devicesync.ActionCreate):
		if err := noExtra(op, "data"); err != nil {
			return nil, err
		}
		var req newCaseRequest
		if err := s.decodeRaw("data", opData(op.Data, "id", op.ID), &req); err != nil { // the id is the operation's; the body may leave it out
			return nil, err
		}
		if req.ID != op.ID {
			return nil, errIDMismatch()
		}
		nc := casework.NewCase{ID: op.ID, ReferenceNumber: req.ReferenceNumber, Child: toChild(req.Child),
			CaseTypes: toCaseTypes(req.CaseTypes), CaseworkerIDs: req.CaseworkerIDs, SupervisorID: req.SupervisorID}
		if req.OpenedAt != nil {
			nc.OpenedAt = *req.OpenedAt
		}
		return devicesync.CaseCreate.Data(nc), nil
	case string(devicesync.ActionUpdate):
		return decodeChanges(s, op, devicesync.CaseUpdate, toCaseChanges)
	case string(devicesync.ActionClose), string(devicesync.ActionReopen):
		if err := noExtra(op, "data"); err != nil {
			return nil, err
		}
		if op.BaseVersion < 1 {
			return nil, errBaseVersion()
		}
		var req caseStatusBody
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		kind := devicesync.CaseClose
		if op.Action == string(devicesync.ActionReopen) {
			kind = devicesync.CaseReopen
		}
		return kind.Data(devicesync.CaseStatusChange{Reason: req.Reason}), nil
	}
	return nil, errSyncAction(op.Action)
}

// caseStatusBody is the data of a case close or reopen: the reason, as for POST
// /v1/cases/{id}/close (the version is the operation's base_version).
type caseStatusBody struct {
	Reason string `json:"reason" validate:"required,max_case_reason"`
}

type runStartBody struct {
	ProtocolID string `json:"protocol_id" validate:"required,max_run_protocol_id"`
}

func decodeRunOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	if err := noExtra(op, "data"); err != nil {
		return nil, err
	}
	if err := requireCaseID(op); err != nil {
		return nil, err
	}
	switch op.Action {
	case string(devicesync.ActionCreate):
		var req runStartBody
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		return devicesync.RunCreate.Data(devicesync.RunStart{ProtocolID: req.ProtocolID}), nil
	case string(devicesync.ActionAppend):
		var req stepRecordRequest
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		return devicesync.RunAppend.Data(casework.NewStepRecord{StepID: req.StepID, Status: casework.StepStatus(req.Status), Reason: req.Reason, Note: req.Note,
			RecordedAt: req.RecordedAt, ClientID: req.ClientID}), nil
	}
	return nil, errSyncAction(op.Action)
}
