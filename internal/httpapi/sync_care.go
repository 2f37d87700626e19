package httpapi

import (
	"slices"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
)

// The sync record types of a case's services, appointments and flags, each as its own route shows
// it with the vocabulary labels as their codes (a device labels them in its own language), and the
// bodies of the offline creates of consents, services and appointments: the data is the body of
// the type's POST route, its id optional (the operation's).
func init() {
	refuse := func(_ *Server, op pushOperation) (devicesync.Payload, error) { return nil, errSyncAction(op.Action) }
	syncTypes[devicesync.TypeCaseService] = syncType{view: func(v any) any {
		return toServiceViewWith(codeOfLabel, v.(caseservice.Record))
	}, decode: decodeServiceOp}
	syncTypes[devicesync.TypeAppointment] = syncType{view: func(v any) any {
		return toAppointmentViewWith(codeOfLabel, v.(appointment.Appointment))
	}, decode: decodeAppointmentOp}
	syncTypes[devicesync.TypeCaseFlag] = syncType{view: func(v any) any {
		return toFlagViewWith(codeOfLabel, v.(caseflag.Flag))
	}, decode: refuse}
}

// codeOfLabel returns the code a label's message id ends with ("caseflag.kind.acute": "acute").
func codeOfLabel(id string) string { return id[strings.LastIndexByte(id, '.')+1:] }

// createData reads the data of a create operation whose body is that of a POST route into req
// (the id optional: the operation's), and checks that the envelope names the case.
func createData(s *Server, op pushOperation, req any, id func() string) error {
	if op.Action != string(devicesync.ActionCreate) {
		return errSyncAction(op.Action)
	}
	if err := noExtra(op, "data"); err != nil {
		return err
	}
	if err := requireCaseID(op); err != nil {
		return err
	}
	if err := s.decodeRaw("data", opData(op.Data, "id", op.ID), req); err != nil {
		return err
	}
	if id() != op.ID {
		return errIDMismatch()
	}
	return nil
}

// decodeConsentOp reads consent create operations (data as for POST /v1/cases/{id}/consents).
func decodeConsentOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	var req newConsentRequest
	if err := createData(s, op, &req, func() string { return req.ID }); err != nil {
		return nil, err
	}
	return devicesync.ConsentCreate.Data(toNewConsent(req)), nil
}

// decodeServiceOp reads case_service create operations (data as for POST /v1/cases/{id}/services).
func decodeServiceOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	var req newServiceRequest
	if err := createData(s, op, &req, func() string { return req.ID }); err != nil {
		return nil, err
	}
	return devicesync.ServiceCreate.Data(devicesync.NewCaseService{Discipline: caseservice.Discipline(req.Discipline),
		Details: caseservice.Details{Status: caseservice.Status(req.Status), Provider: req.Provider, Notes: req.Notes, Outcome: toOutcome(req.Outcome)}}), nil
}

// decodeAppointmentOp reads appointment create operations: data as for POST /v1/appointments, whose
// case_ids, when sent, must include the operation's case_id (left out: that case alone).
func decodeAppointmentOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	var req newAppointmentRequest
	if err := createData(s, op, &req, func() string { return req.ID }); err != nil {
		return nil, err
	}
	caseIDs := req.CaseIDs
	if caseIDs == nil {
		caseIDs = []string{op.CaseID}
	} else if !slices.Contains(caseIDs, op.CaseID) {
		return nil, apperr.Validation(apperr.FieldError{Field: "case_ids", Code: "mismatch", MessageID: "field.sync_case_mismatch"})
	}
	return devicesync.AppointmentCreate.Data(devicesync.NewAppointment{Kind: appointment.Kind(req.Kind), CaseIDs: caseIDs,
		Details: toAppointmentDetails(req)}), nil
}
