package appointment

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

// Service makes, reads and changes appointments, measures time standards and lists due actions, as
// the caller; every access is recorded in the audit log.
type Service struct {
	store     Store
	cases     Cases
	lister    CaseLister
	users     Directory
	events    audit.Recorder
	standards Standards
	now       func() time.Time
}

// NewService returns the appointments service measuring with standards (nil: DefaultStandards).
// now is the clock (nil: time.Now). It returns an error when a standard is invalid (see Check).
func NewService(store Store, cases Cases, lister CaseLister, users Directory, events audit.Recorder, standards Standards, now func() time.Time) (*Service, error) {
	if standards == nil {
		standards = DefaultStandards()
	}
	if err := standards.Check(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, lister: lister, users: users, events: events, standards: standards, now: now}, nil
}

// Standards returns the time standards the service measures.
func (s *Service) Standards() Standards { return slices.Clone(s.standards) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Details are an appointment's changeable fields.
type Details struct {
	StartsAt        time.Time
	DurationMinutes int
	Place           string
	Participants    []Participant
	Status          Status // "": scheduled
	Notes           string
	Reviews         []CaseReview // case review meetings only
}

// Create makes an appointment of p's organisation about cases caseIDs (one, or several for a case
// review meeting). Repeating a create (same id and content) changes nothing and returns the stored
// appointment with created false. It returns identity.ErrForbidden for roles without case access
// and for caseworkers making a case review meeting; a NotFound *apperr.Error (case_not_found) for a
// case p may not see; an Invalid one with field errors for bad values; a Conflict
// (appointment_id_conflict) when the id is another appointment's; or the store's or recorder's error.
func (s *Service) Create(ctx context.Context, p identity.Principal, id string, kind Kind, caseIDs []string, d Details) (Appointment, bool, error) {
	role, err := s.writer(ctx, p, kind, id, ActionCreate)
	if err != nil {
		return Appointment{}, false, err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", id)
	apperr.OneOf(&fe, "kind", kind, Kinds)
	caseIDs = checkCaseIDs(&fe, kind, caseIDs)
	if err := fe.Err(); err != nil {
		return Appointment{}, false, err
	}
	for _, cid := range caseIDs {
		if _, _, err := s.cases.CaseAccess(ctx, p, cid, ActionCreate); err != nil {
			return Appointment{}, false, err
		}
	}
	now := s.clock()
	a := Appointment{ID: id, OrgID: p.OrgID, Kind: kind, CaseIDs: caseIDs, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.apply(ctx, &a, d); err != nil {
		return Appointment{}, false, err
	}
	err = s.store.CreateAppointment(ctx, a)
	if errors.Is(err, ErrExists) {
		cur, gerr := s.store.Appointment(ctx, id)
		if gerr != nil {
			return Appointment{}, false, fmt.Errorf("reading appointment %s: %w", id, gerr)
		}
		if cur.OrgID != a.OrgID || cur.Kind != a.Kind || !slices.Equal(cur.CaseIDs, a.CaseIDs) || !cur.StartsAt.Equal(a.StartsAt) || cur.Place != a.Place {
			return Appointment{}, false, s.refused(ctx, p, role, ActionCreate, id, audit.OutcomeFailure, errIDConflict(id))
		}
		return cur, false, s.record(ctx, p, role, ActionCreate, resourceAppointment, id, audit.OutcomeSuccess)
	}
	if err != nil {
		return Appointment{}, false, fmt.Errorf("creating appointment %s: %w", id, err)
	}
	return a.clone(), true, s.record(ctx, p, role, ActionCreate, resourceAppointment, id, audit.OutcomeSuccess)
}

// CheckCreate checks a create without writing (for an all-or-nothing group of device operations):
// the role, the id, kind and cases, access to each case unless created reports that the group
// creates it, and d. It returns Create's errors but the conflict.
func (s *Service) CheckCreate(ctx context.Context, p identity.Principal, id string, kind Kind, caseIDs []string, created func(caseID string) bool, d Details) error {
	if _, err := s.writer(ctx, p, kind, id, ActionCreate); err != nil {
		return err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", id)
	apperr.OneOf(&fe, "kind", kind, Kinds)
	caseIDs = checkCaseIDs(&fe, kind, caseIDs)
	if err := fe.Err(); err != nil {
		return err
	}
	for _, cid := range caseIDs {
		if created != nil && created(cid) {
			continue
		}
		if _, _, err := s.cases.CaseAccess(ctx, p, cid, ActionCreate); err != nil {
			return err
		}
	}
	a := Appointment{ID: id, OrgID: p.OrgID, Kind: kind, CaseIDs: caseIDs}
	return s.apply(ctx, &a, d)
}

// Update is a change of some of an appointment's details; nil fields stay as they are.
type Update struct {
	StartsAt        *time.Time
	DurationMinutes *int
	Place           *string
	Participants    *[]Participant
	Status          *Status
	Notes           *string
	Reviews         *[]CaseReview
}

// Update changes appointment id at version and returns it at its new version. It returns Get's
// errors; identity.ErrForbidden for a caseworker changing a case review meeting; an Invalid
// *apperr.Error with field errors for bad values; a Conflict (version_conflict, wrapping a
// *StaleError with the current appointment) when version is not current; or the store's or
// recorder's error.
func (s *Service) Update(ctx context.Context, p identity.Principal, id string, u Update, version int64) (Appointment, error) {
	cur, role, err := s.visible(ctx, p, id, ActionUpdate)
	if err != nil {
		return Appointment{}, err
	}
	if _, err := s.writer(ctx, p, cur.Kind, id, ActionUpdate); err != nil {
		return Appointment{}, err
	}
	if cur.Version != version {
		return Appointment{}, s.refused(ctx, p, role, ActionUpdate, id, audit.OutcomeFailure, errStale(cur))
	}
	d := Details{StartsAt: cur.StartsAt, DurationMinutes: cur.DurationMinutes, Place: cur.Place, Participants: cur.Participants,
		Status: cur.Status, Notes: cur.Notes, Reviews: cur.Reviews}
	if u.StartsAt != nil {
		d.StartsAt = *u.StartsAt
	}
	if u.DurationMinutes != nil {
		d.DurationMinutes = *u.DurationMinutes
	}
	if u.Place != nil {
		d.Place = *u.Place
	}
	if u.Participants != nil {
		d.Participants = *u.Participants
	}
	if u.Status != nil {
		d.Status = *u.Status
	}
	if u.Notes != nil {
		d.Notes = *u.Notes
	}
	if u.Reviews != nil {
		d.Reviews = *u.Reviews
	}
	next := cur.clone()
	if err := s.apply(ctx, &next, d); err != nil {
		return Appointment{}, err
	}
	next.Version, next.UpdatedAt = cur.Version+1, s.clock()
	switch err := s.store.UpdateAppointment(ctx, next); {
	case errors.Is(err, ErrStale):
		if cur, err = s.store.Appointment(ctx, id); err != nil {
			return Appointment{}, fmt.Errorf("reading appointment %s: %w", id, err)
		}
		return Appointment{}, s.refused(ctx, p, role, ActionUpdate, id, audit.OutcomeFailure, errStale(cur))
	case err != nil:
		return Appointment{}, fmt.Errorf("updating appointment %s: %w", id, err)
	}
	return next, s.record(ctx, p, role, ActionUpdate, resourceAppointment, id, audit.OutcomeSuccess)
}

// Get returns appointment id. It returns identity.ErrForbidden for roles without case access, a
// NotFound *apperr.Error (appointment_not_found) for one p may not see or none, or the store's or
// recorder's error.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Appointment, error) {
	a, role, err := s.visible(ctx, p, id, ActionRead)
	if err != nil {
		return Appointment{}, err
	}
	return a, s.record(ctx, p, role, ActionRead, resourceAppointment, id, audit.OutcomeSuccess)
}

// ListForCase returns the appointments naming case caseID that p may see, by time. It returns the
// case access errors of casework.Service.CaseAccess, or the store's or recorder's error.
func (s *Service) ListForCase(ctx context.Context, p identity.Principal, caseID string) ([]Appointment, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	as, err := s.store.ListCaseAppointments(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the appointments of case %s: %w", c.ID, err)
	}
	as = slices.DeleteFunc(as, func(a Appointment) bool { return a.OrgID != p.OrgID || !sees(p, role, a, true) })
	return as, s.record(ctx, p, role, ActionList, resourceCase, c.ID, audit.OutcomeSuccess)
}

// MaxCalendarDays is the longest period a calendar covers.
const MaxCalendarDays = 92

// Calendar returns the appointments of p's organisation starting in [from, to) (a supervisor's: all
// of them; a caseworker's: those about cases assigned to them or that they take part in), by time.
// It returns identity.ErrForbidden for roles without case access, an Invalid *apperr.Error for a
// period that is missing, reversed or longer than MaxCalendarDays, or the store's or recorder's
// error.
func (s *Service) Calendar(ctx context.Context, p identity.Principal, from, to time.Time) ([]Appointment, error) {
	role, err := caseRole(p)
	if err != nil {
		return nil, s.refused(ctx, p, "", ActionCalendar, "", audit.OutcomeDenied, err)
	}
	var fe apperr.FieldErrors
	switch {
	case from.IsZero():
		fe.Add("from", "required", "field.required", nil)
	case to.IsZero():
		fe.Add("to", "required", "field.required", nil)
	case !to.After(from):
		fe.Add("to", "after", "care.field.after", map[string]any{"Other": "from"})
	case to.Sub(from) > MaxCalendarDays*24*time.Hour:
		fe.Add("to", "period_too_long", "care.field.period_too_long", map[string]any{"Days": MaxCalendarDays})
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	as, err := s.store.ListOrgAppointments(ctx, p.OrgID, from, to)
	if err != nil {
		return nil, fmt.Errorf("listing appointments: %w", err)
	}
	if role == identity.RoleCaseworker {
		assigned, err := s.assignedCases(ctx, p)
		if err != nil {
			return nil, err
		}
		as = slices.DeleteFunc(as, func(a Appointment) bool {
			return !participates(p, a) && (a.Kind == KindCaseReview || !slices.ContainsFunc(a.CaseIDs, func(id string) bool { return assigned[id] }))
		})
	}
	return as, s.record(ctx, p, role, ActionCalendar, resourceAppointment, "", audit.OutcomeSuccess)
}

// assignedCases returns the ids of the cases assigned to caseworker p.
func (s *Service) assignedCases(ctx context.Context, p identity.Principal) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.eachCase(ctx, casework.StoreFilter{OrgID: p.OrgID, AssigneeIDs: []string{p.UserID}}, func(c casework.Case) { out[c.ID] = true })
	return out, err
}

// eachCase calls fn with every case matching f, a page at a time.
func (s *Service) eachCase(ctx context.Context, f casework.StoreFilter, fn func(casework.Case)) error {
	after := ""
	for {
		cs, err := s.lister.ListCases(ctx, f, after, 200)
		if err != nil {
			return fmt.Errorf("listing cases: %w", err)
		}
		for _, c := range cs {
			fn(c)
		}
		if len(cs) < 200 {
			return nil
		}
		after = cs[len(cs)-1].ID
	}
}

// visible reads appointment id and checks that p may see it: a NotFound *apperr.Error otherwise.
func (s *Service) visible(ctx context.Context, p identity.Principal, id, action string) (Appointment, identity.Role, error) {
	role, err := caseRole(p)
	if err != nil {
		return Appointment{}, "", s.refused(ctx, p, "", action, id, audit.OutcomeDenied, err)
	}
	if !apperr.ValidUUID(id) {
		return Appointment{}, "", s.refused(ctx, p, role, action, "", audit.OutcomeDenied, errNotFound(id))
	}
	a, err := s.store.Appointment(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && a.OrgID != p.OrgID {
		return Appointment{}, "", s.refused(ctx, p, role, action, id, audit.OutcomeDenied, errNotFound(id))
	}
	if err != nil {
		return Appointment{}, "", fmt.Errorf("reading appointment %s: %w", id, err)
	}
	if role == identity.RoleCaseworker && !participates(p, a) {
		if a.Kind == KindCaseReview {
			return Appointment{}, "", s.refused(ctx, p, role, action, id, audit.OutcomeDenied, errNotFound(id))
		}
		if _, _, err := s.cases.CaseAccess(ctx, p, a.CaseIDs[0], action); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return Appointment{}, "", errNotFound(id)
			}
			return Appointment{}, "", err
		}
	}
	return a, role, nil
}

// sees reports whether p (acting in role) sees a, given that p may see the case it was listed for.
func sees(p identity.Principal, role identity.Role, a Appointment, caseVisible bool) bool {
	return role == identity.RoleSupervisor || participates(p, a) || a.Kind != KindCaseReview && caseVisible
}

// SeenWithCase reports whether p, who may see the case a is listed for, sees a: supervisors every
// appointment, caseworkers every one but the case review meetings they do not attend (device sync
// uses it to narrow a case's appointments).
func SeenWithCase(p identity.Principal, a Appointment) bool {
	role, err := caseRole(p)
	return err == nil && sees(p, role, a, true)
}

func participates(p identity.Principal, a Appointment) bool {
	return slices.ContainsFunc(a.Participants, func(x Participant) bool { return x.UserID != "" && x.UserID == p.UserID })
}

// caseRole returns the role p acts in on appointments: identity.ErrForbidden without case access.
func caseRole(p identity.Principal) (identity.Role, error) {
	switch {
	case p.HasRole(identity.RoleSupervisor) && p.OrgID != "":
		return identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleCaseworker) && p.OrgID != "" && p.UserID != "":
		return identity.RoleCaseworker, nil
	}
	return "", identity.ErrForbidden
}

// writer checks that p may make or change an appointment of kind (case review meetings: supervisors
// only) and returns the role p acts in.
func (s *Service) writer(ctx context.Context, p identity.Principal, kind Kind, id, action string) (identity.Role, error) {
	role, err := caseRole(p)
	if err == nil && kind == KindCaseReview && role != identity.RoleSupervisor {
		err = identity.ErrForbidden
	}
	if err != nil {
		return "", s.refused(ctx, p, role, action, id, audit.OutcomeDenied, err)
	}
	return role, nil
}

// checkCaseIDs checks the cases an appointment of kind names: one, or 1 to MaxReviewCases distinct
// UUIDs for a case review meeting.
func checkCaseIDs(fe *apperr.FieldErrors, kind Kind, ids []string) []string {
	out := []string{}
	for _, id := range ids {
		if !apperr.ValidUUID(id) {
			fe.Add("case_ids", "uuid", "field.uuid", nil)
			return nil
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	switch {
	case len(out) == 0:
		fe.Add("case_ids", "required", "field.required", nil)
	case kind != KindCaseReview && len(out) > 1:
		fe.Add("case_ids", "one_case", "appointment.field.one_case", nil)
	case len(out) > MaxReviewCases:
		fe.Add("case_ids", "max_items", "field.max_items", map[string]any{"Max": MaxReviewCases})
	}
	return out
}

// apply validates d and sets it on a (whose Kind, CaseIDs and OrgID are set).
func (s *Service) apply(ctx context.Context, a *Appointment, d Details) error {
	var fe apperr.FieldErrors
	if d.StartsAt.IsZero() {
		fe.Add("starts_at", "required", "field.required", nil)
	}
	if d.DurationMinutes < 0 {
		fe.Add("duration_minutes", "min", "field.min", map[string]any{"Min": 0})
	} else if d.DurationMinutes > MaxDurationMinutes {
		fe.Add("duration_minutes", "max", "field.max", map[string]any{"Max": MaxDurationMinutes})
	}
	if d.Status == "" {
		d.Status = StatusScheduled
	}
	apperr.OneOf(&fe, "status", d.Status, Statuses)
	d.Place, d.Notes = strings.TrimSpace(d.Place), strings.TrimSpace(d.Notes)
	fe.MaxLength("place", d.Place, MaxPlaceLen)
	fe.MaxLength("notes", d.Notes, MaxNotesLen)
	if len(d.Participants) > MaxParticipants {
		fe.Add("participants", "max_items", "field.max_items", map[string]any{"Max": MaxParticipants})
	}
	participants := make([]Participant, 0, len(d.Participants))
	for i, x := range d.Participants {
		field := fmt.Sprintf("participants[%d]", i)
		x.UserID, x.Name, x.Role = strings.TrimSpace(x.UserID), strings.TrimSpace(x.Name), strings.TrimSpace(x.Role)
		if (x.UserID == "") == (x.Name == "") {
			fe.Add(field, "user_or_name", "appointment.field.user_or_name", nil)
		}
		fe.MaxLength(field+".user_id", x.UserID, MaxUserIDLen)
		fe.MaxLength(field+".name", x.Name, MaxNameLen)
		fe.MaxLength(field+".role", x.Role, MaxRoleLen)
		participants = append(participants, x)
	}
	if len(d.Reviews) > 0 && a.Kind != KindCaseReview {
		fe.Add("reviews", "case_review_only", "appointment.field.case_review_only", nil)
	}
	reviews := make([]CaseReview, 0, len(d.Reviews))
	for i, r := range d.Reviews {
		field := fmt.Sprintf("reviews[%d]", i)
		if !slices.Contains(a.CaseIDs, r.CaseID) {
			fe.Add(field+".case_id", "not_reviewed", "appointment.field.not_reviewed", nil)
		}
		r.Decisions = strings.TrimSpace(r.Decisions)
		fe.MaxLength(field+".decisions", r.Decisions, MaxDecisionsLen)
		if len(r.Actions) > MaxActionsPerCase {
			fe.Add(field+".actions", "max_items", "field.max_items", map[string]any{"Max": MaxActionsPerCase})
		}
		actions := make([]Action, 0, len(r.Actions))
		for j, x := range r.Actions {
			af := fmt.Sprintf("%s.actions[%d]", field, j)
			fe.UUID(af+".id", x.ID)
			x.What = strings.TrimSpace(x.What)
			if fe.Required(af+".what", x.What) {
				fe.MaxLength(af+".what", x.What, MaxWhatLen)
			}
			if x.Due.IsZero() {
				fe.Add(af+".due", "required", "field.required", nil)
			}
			if err := s.checkAssignee(ctx, &fe, a.OrgID, af+".assignee_id", x.AssigneeID); err != nil {
				return err
			}
			x.Due = x.Due.UTC().Truncate(time.Millisecond)
			if x.DoneAt != nil {
				t := x.DoneAt.UTC().Truncate(time.Millisecond)
				x.DoneAt = &t
			}
			actions = append(actions, x)
		}
		r.Actions = actions
		reviews = append(reviews, r)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	a.StartsAt, a.DurationMinutes, a.Place, a.Participants = d.StartsAt.UTC().Truncate(time.Millisecond), d.DurationMinutes, d.Place, participants
	a.Status, a.Notes, a.Reviews = d.Status, d.Notes, reviews
	return nil
}

// checkAssignee records unknown_user unless id is an enabled caseworker or supervisor of orgID.
func (s *Service) checkAssignee(ctx context.Context, fe *apperr.FieldErrors, orgID, field, id string) error {
	if strings.TrimSpace(id) == "" {
		fe.Add(field, "required", "field.required", nil)
		return nil
	}
	if len(id) > MaxUserIDLen {
		fe.MaxLength(field, id, MaxUserIDLen)
		return nil
	}
	if s.users == nil {
		return nil
	}
	for _, role := range []identity.Role{identity.RoleCaseworker, identity.RoleSupervisor} {
		ok, err := s.users.HasRole(ctx, orgID, id, role)
		if err != nil {
			return fmt.Errorf("checking assignee %s: %w", id, err)
		}
		if ok {
			return nil
		}
	}
	fe.Add(field, "unknown_user", "field.unknown_user", map[string]any{"Role": string(identity.RoleCaseworker)})
	return nil
}

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, rtype, id string, outcome audit.Outcome) error {
	if err := s.events.RecordEvent(ctx, p.AuditEvent(role, action, rtype, id, outcome)); err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}

// refused records action on appointment id with outcome and returns cause (or the recorder's error).
func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, action, id string, outcome audit.Outcome, cause error) error {
	if !apperr.ValidUUID(id) {
		id = ""
	}
	if err := s.record(ctx, p, role, action, resourceAppointment, id, outcome); err != nil {
		return err
	}
	return cause
}
