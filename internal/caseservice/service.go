package caseservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Service records and reads the services of cases, as the caller: only on cases the caller may see
// (casework's rules), every access recorded in the audit log.
type Service struct {
	store  Store
	cases  Cases
	events audit.Recorder
	now    func() time.Time
}

// NewService returns the services service. now is the clock (nil: time.Now).
func NewService(store Store, cases Cases, events audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, events: events, now: now}
}

// Details are a record's changeable fields.
type Details struct {
	Status   Status // "": planned
	Provider string
	Notes    string
	Outcome  Outcome
}

// Create records service id of discipline on case caseID. Repeating the create (same id, discipline
// and details) changes nothing and returns the stored record with created false. It returns the case
// access errors of casework.Service.CaseAccess; an Invalid *apperr.Error with field errors for bad
// values (an outcome field of another discipline included); an Invalid (case_closed) for a closed
// case; a Conflict (service_id_conflict) when the id is another record's; or the store's or
// recorder's error.
func (s *Service) Create(ctx context.Context, p identity.Principal, caseID, id string, discipline Discipline, d Details) (Record, bool, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
	if err != nil {
		return Record{}, false, err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", id)
	if !apperr.OneOf(&fe, "discipline", discipline, Disciplines) {
		return Record{}, false, fe.Err()
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	r := Record{ID: id, OrgID: c.OrgID, CaseID: c.ID, Discipline: discipline, CreatedBy: p.UserID, CreatedAt: now, UpdatedBy: p.UserID, UpdatedAt: now, Version: 1}
	apply(&fe, &r, d)
	if err := fe.Err(); err != nil {
		return Record{}, false, err
	}
	if c.Status == casework.StatusClosed {
		return Record{}, false, apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": c.ID})
	}
	err = s.store.CreateService(ctx, r)
	if errors.Is(err, ErrExists) {
		cur, gerr := s.store.Service(ctx, id)
		if gerr != nil {
			return Record{}, false, fmt.Errorf("reading service %s: %w", id, gerr)
		}
		if cur.CaseID != r.CaseID || cur.Discipline != r.Discipline || cur.Status != r.Status || cur.Notes != r.Notes || cur.Provider != r.Provider {
			return Record{}, false, s.refused(ctx, p, role, ActionCreate, id, audit.OutcomeFailure, errIDConflict(id))
		}
		return cur, false, s.record(ctx, p, role, ActionCreate, resourceService, id, audit.OutcomeSuccess)
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("creating service %s: %w", id, err)
	}
	return r.clone(), true, s.record(ctx, p, role, ActionCreate, resourceService, id, audit.OutcomeSuccess)
}

// CheckCreate checks a create of service id of discipline on case caseID without writing (for an
// all-or-nothing group of device operations): access to the case and that it is open, unless
// caseCreated (the group creates it), the id, the discipline and d. It returns Create's errors but
// the conflict.
func (s *Service) CheckCreate(ctx context.Context, p identity.Principal, caseID string, caseCreated bool, id string, discipline Discipline, d Details) error {
	if !caseCreated {
		c, _, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
		if err != nil {
			return err
		}
		if c.Status == casework.StatusClosed {
			return apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", map[string]any{"ID": c.ID})
		}
	}
	var fe apperr.FieldErrors
	fe.UUID("id", id)
	if !apperr.OneOf(&fe, "discipline", discipline, Disciplines) {
		return fe.Err()
	}
	r := Record{Discipline: discipline}
	apply(&fe, &r, d)
	return fe.Err()
}

// Update is a change of some of a record's details; nil fields stay as they are (Outcome replaces
// every outcome field).
type Update struct {
	Status   *Status
	Provider *string
	Notes    *string
	Outcome  *Outcome
}

// Update changes record id of case caseID at version and returns it at its new version. It returns
// Get's errors; an Invalid *apperr.Error with field errors for bad values; a Conflict
// (version_conflict, wrapping a *StaleError with the current record) when version is not current;
// or the store's or recorder's error.
func (s *Service) Update(ctx context.Context, p identity.Principal, caseID, id string, u Update, version int64) (Record, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionUpdate)
	if err != nil {
		return Record{}, err
	}
	cur, err := s.recordOf(ctx, p, role, c.ID, id, ActionUpdate)
	if err != nil {
		return Record{}, err
	}
	if cur.Version != version {
		return Record{}, s.refused(ctx, p, role, ActionUpdate, id, audit.OutcomeFailure, errStale(cur))
	}
	d := Details{Status: cur.Status, Provider: cur.Provider, Notes: cur.Notes, Outcome: cur.Outcome}
	if u.Status != nil {
		d.Status = *u.Status
	}
	if u.Provider != nil {
		d.Provider = *u.Provider
	}
	if u.Notes != nil {
		d.Notes = *u.Notes
	}
	if u.Outcome != nil {
		d.Outcome = *u.Outcome
	}
	next := cur.clone()
	var fe apperr.FieldErrors
	apply(&fe, &next, d)
	if err := fe.Err(); err != nil {
		return Record{}, err
	}
	next.Version, next.UpdatedBy, next.UpdatedAt = cur.Version+1, p.UserID, s.now().UTC().Truncate(time.Millisecond)
	switch err := s.store.UpdateService(ctx, next); {
	case errors.Is(err, ErrStale):
		if cur, err = s.store.Service(ctx, id); err != nil {
			return Record{}, fmt.Errorf("reading service %s: %w", id, err)
		}
		return Record{}, s.refused(ctx, p, role, ActionUpdate, id, audit.OutcomeFailure, errStale(cur))
	case err != nil:
		return Record{}, fmt.Errorf("updating service %s: %w", id, err)
	}
	return next, s.record(ctx, p, role, ActionUpdate, resourceService, id, audit.OutcomeSuccess)
}

// Get returns record id of case caseID. It returns the case access errors of
// casework.Service.CaseAccess, a NotFound *apperr.Error (service_not_found) for a record not of that
// case or none, or the store's or recorder's error.
func (s *Service) Get(ctx context.Context, p identity.Principal, caseID, id string) (Record, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionRead)
	if err != nil {
		return Record{}, err
	}
	r, err := s.recordOf(ctx, p, role, c.ID, id, ActionRead)
	if err != nil {
		return Record{}, err
	}
	return r, s.record(ctx, p, role, ActionRead, resourceService, id, audit.OutcomeSuccess)
}

// List returns the records of case caseID, oldest first. It returns the case access errors of
// casework.Service.CaseAccess, or the store's or recorder's error.
func (s *Service) List(ctx context.Context, p identity.Principal, caseID string) ([]Record, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ListServices(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the services of case %s: %w", c.ID, err)
	}
	return rs, s.record(ctx, p, role, ActionList, resourceCase, c.ID, audit.OutcomeSuccess)
}

// recordOf reads record id of case caseID: a NotFound *apperr.Error (recorded as denied) otherwise.
func (s *Service) recordOf(ctx context.Context, p identity.Principal, role identity.Role, caseID, id, action string) (Record, error) {
	if !apperr.ValidUUID(id) {
		return Record{}, s.refused(ctx, p, role, action, "", audit.OutcomeDenied, errNotFound(id))
	}
	r, err := s.store.Service(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && r.CaseID != caseID {
		return Record{}, s.refused(ctx, p, role, action, id, audit.OutcomeDenied, errNotFound(id))
	}
	if err != nil {
		return Record{}, fmt.Errorf("reading service %s: %w", id, err)
	}
	return r, nil
}

// apply validates d for r's discipline and sets it on r.
func apply(fe *apperr.FieldErrors, r *Record, d Details) {
	if d.Status == "" {
		d.Status = StatusPlanned
	}
	apperr.OneOf(fe, "status", d.Status, Statuses)
	d.Provider, d.Notes = strings.TrimSpace(d.Provider), strings.TrimSpace(d.Notes)
	fe.MaxLength("provider", d.Provider, MaxProviderLen)
	fe.MaxLength("notes", d.Notes, MaxNotesLen)
	o := d.Outcome
	for _, x := range []struct {
		field string
		set   bool
	}{{"examination_done", o.ExaminationDone != nil}, {"follow_up_needed", o.FollowUpNeeded != nil}, {"sessions", o.Sessions != nil},
		{"assessment_outcome", o.AssessmentOutcome != ""}, {"safety_plan", o.SafetyPlan != nil}, {"charges_filed", o.ChargesFiled != nil},
		{"court_dates", len(o.CourtDates) > 0}, {"disposition", o.Disposition != ""}} {
		if x.set && !slices.Contains(fieldDisciplines[x.field], r.Discipline) {
			fe.Add("outcome."+x.field, "other_discipline", "caseservice.field.other_discipline",
				map[string]any{"Discipline": apperr.Label("caseservice.discipline." + string(r.Discipline))})
		}
	}
	if o.Sessions != nil && (*o.Sessions < 0 || *o.Sessions > MaxSessions) {
		fe.Add("outcome.sessions", "max", "field.max", map[string]any{"Max": MaxSessions})
	}
	if o.AssessmentOutcome != "" {
		apperr.OneOf(fe, "outcome.assessment_outcome", o.AssessmentOutcome, AssessmentOutcomes)
	}
	if o.Disposition != "" {
		apperr.OneOf(fe, "outcome.disposition", o.Disposition, Dispositions)
	}
	if len(o.CourtDates) > MaxCourtDates {
		fe.Add("outcome.court_dates", "max_items", "field.max_items", map[string]any{"Max": MaxCourtDates})
	}
	dates := make([]time.Time, len(o.CourtDates))
	for i, t := range o.CourtDates {
		dates[i] = t.UTC().Truncate(time.Millisecond)
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return a.Compare(b) })
	o.CourtDates = dates
	r.Status, r.Provider, r.Notes, r.Outcome = d.Status, d.Provider, d.Notes, o
}

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, rtype, id string, outcome audit.Outcome) error {
	if err := s.events.RecordEvent(ctx, p.AuditEvent(role, action, rtype, id, outcome)); err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}

func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, action, id string, outcome audit.Outcome, cause error) error {
	if !apperr.ValidUUID(id) {
		id = ""
	}
	if err := s.record(ctx, p, role, action, resourceService, id, outcome); err != nil {
		return err
	}
	return cause
}
