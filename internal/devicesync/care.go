package devicesync

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The record types of a case's services, appointments and flags, and the push operations that
// create consents, services and appointments offline, each applied through its domain service
// (which checks case access, validates and records the write in the audit log, as its route does).
//
//	consent create       Payload consent.NewConsent (ID = the consent id, CaseID)
//	case_service create  Payload NewCaseService (ID = the service id, CaseID)
//	appointment create   Payload NewAppointment (ID = the appointment id, CaseID one of its cases)
//
// The ids are the device's: a retried create (the same content) is applied again as a no-op and
// returns the stored record; an id already used with other content is a conflict (its problem the
// domain's *_id_conflict, Current the stored service or appointment when the device may see it),
// nothing changed.
// Case flags are pulled only.
const (
	TypeCaseService = "case_service"
	TypeAppointment = "appointment"
	TypeCaseFlag    = "case_flag"
)

// NewCaseService is a service to record on a case.
type NewCaseService struct {
	Discipline caseservice.Discipline
	Details    caseservice.Details
}

// NewAppointment is an appointment to make: about CaseIDs (one, or several for a case review
// meeting).
type NewAppointment struct {
	Kind    appointment.Kind
	CaseIDs []string
	Details appointment.Details
}

// The kinds of the operations of working across agencies.
var (
	ConsentCreate     = Kind[consent.NewConsent]{TypeConsent, ActionCreate}
	ServiceCreate     = Kind[NewCaseService]{TypeCaseService, ActionCreate}
	AppointmentCreate = Kind[NewAppointment]{TypeAppointment, ActionCreate}
)

// ConsentRecord returns a consent as a sync record.
func ConsentRecord(c consent.Consent) Record {
	at := c.CreatedAt
	if c.Withdrawal != nil {
		at = c.Withdrawal.ReceivedAt
	}
	return Record{Type: TypeConsent, ID: c.ID, OrgID: c.OrgID, CaseID: c.CaseID, Version: c.Version, UpdatedAt: at, Data: c}
}

// CaseServiceRecord returns a service of a case as a sync record.
func CaseServiceRecord(r caseservice.Record) Record {
	return Record{Type: TypeCaseService, ID: r.ID, OrgID: r.OrgID, CaseID: r.CaseID, Version: r.Version, UpdatedAt: r.UpdatedAt, Data: r}
}

// CaseFlagRecord returns a case flag as a sync record.
func CaseFlagRecord(f caseflag.Flag) Record {
	at := f.RaisedAt
	if f.ResolvedAt != nil {
		at = *f.ResolvedAt
	}
	return Record{Type: TypeCaseFlag, ID: f.ID, OrgID: f.OrgID, CaseID: f.CaseID, Version: f.Version, UpdatedAt: at, Data: f}
}

// AppointmentRecord returns an appointment as a sync record, filed under its first case.
func AppointmentRecord(a appointment.Appointment) Record {
	rec := Record{Type: TypeAppointment, ID: a.ID, OrgID: a.OrgID, Version: a.Version, UpdatedAt: a.UpdatedAt, Data: a}
	if len(a.CaseIDs) > 0 {
		rec.CaseID = a.CaseIDs[0]
	}
	return rec
}

// idConflict returns the conflict result of a create whose id is taken by another record (err is
// the domain's Conflict with code), with current, the stored record, when the device may see it;
// ok is false for any other error.
func idConflict(err error, code string, current func() (Record, bool)) (Result, bool) {
	e := apperr.As(err)
	if e == nil || e.Kind != apperr.Conflict || e.Code != code {
		return Result{}, false
	}
	r := Result{Status: StatusConflict, Problem: err}
	if rec, ok := current(); ok {
		r.Current = &rec
	}
	return r, true
}

// ConsentAppliers returns the handler of consent creates, applied through consents. Its check takes
// the cases created earlier in the group into account. Its errors are consent's.
func ConsentAppliers(consents *consent.Service) []Applier {
	return []Applier{Handle(ConsentCreate, Handler[consent.NewConsent]{
		Check: func(ctx context.Context, p identity.Principal, op Op[consent.NewConsent], created Created) error {
			nc := op.Data
			nc.ID = op.ID
			return consents.CheckCreate(ctx, p, op.CaseID, created[TypeCase][op.CaseID], nc)
		},
		Apply: func(ctx context.Context, p identity.Principal, op Op[consent.NewConsent]) (Result, error) {
			nc := op.Data
			nc.ID = op.ID
			c, _, err := consents.Create(ctx, p, op.CaseID, nc)
			// the stored consent comes with the device's next pull (it reads no consent here)
			if r, ok := idConflict(err, "consent_id_conflict", func() (Record, bool) { return Record{}, false }); ok {
				return r, nil
			}
			if err != nil {
				return Result{}, err
			}
			rec := ConsentRecord(c)
			return Result{Status: StatusApplied, ID: c.ID, Record: &rec}, nil
		}})}
}

// ServiceAppliers returns the handler of case service creates, applied through services. Its check
// takes the cases created earlier in the group into account. Its errors are caseservice's.
func ServiceAppliers(services *caseservice.Service) []Applier {
	return []Applier{Handle(ServiceCreate, Handler[NewCaseService]{
		Check: func(ctx context.Context, p identity.Principal, op Op[NewCaseService], created Created) error {
			return services.CheckCreate(ctx, p, op.CaseID, created[TypeCase][op.CaseID], op.ID, op.Data.Discipline, op.Data.Details)
		},
		Apply: func(ctx context.Context, p identity.Principal, op Op[NewCaseService]) (Result, error) {
			r, _, err := services.Create(ctx, p, op.CaseID, op.ID, op.Data.Discipline, op.Data.Details)
			if res, ok := idConflict(err, "service_id_conflict", func() (Record, bool) {
				cur, gerr := services.Get(ctx, p, op.CaseID, op.ID)
				return CaseServiceRecord(cur), gerr == nil
			}); ok {
				return res, nil
			}
			if err != nil {
				return Result{}, err
			}
			rec := CaseServiceRecord(r)
			return Result{Status: StatusApplied, ID: r.ID, Record: &rec}, nil
		}})}
}

// AppointmentAppliers returns the handler of appointment creates, applied through appointments. Its
// check takes the cases created earlier in the group into account. Its errors are appointment's.
func AppointmentAppliers(appointments *appointment.Service) []Applier {
	return []Applier{Handle(AppointmentCreate, Handler[NewAppointment]{
		Check: func(ctx context.Context, p identity.Principal, op Op[NewAppointment], created Created) error {
			return appointments.CheckCreate(ctx, p, op.ID, op.Data.Kind, op.Data.CaseIDs,
				func(id string) bool { return created[TypeCase][id] }, op.Data.Details)
		},
		Apply: func(ctx context.Context, p identity.Principal, op Op[NewAppointment]) (Result, error) {
			a, _, err := appointments.Create(ctx, p, op.ID, op.Data.Kind, op.Data.CaseIDs, op.Data.Details)
			if res, ok := idConflict(err, "appointment_id_conflict", func() (Record, bool) {
				cur, gerr := appointments.Get(ctx, p, op.ID)
				return AppointmentRecord(cur), gerr == nil
			}); ok {
				return res, nil
			}
			if err != nil {
				return Result{}, err
			}
			rec := AppointmentRecord(a)
			return Result{Status: StatusApplied, ID: a.ID, Record: &rec}, nil
		}})}
}
