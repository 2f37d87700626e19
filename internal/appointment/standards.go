package appointment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Standard is one time standard: an appointment of Kind must have been done within WithinHours of
// the case's first contact (its opening). When it names a flag kind, the standard applies only to
// cases with an unresolved flag of that kind.
type Standard struct {
	Code        string  `json:"code"`
	Kind        Kind    `json:"kind"`
	WithinHours float64 `json:"within_hours"`
	WhenFlag    string  `json:"when_flag,omitempty"`
}

// Standards is a set of time standards.
type Standards []Standard

// DefaultStandards are the shipped standards: a forensic interview within 14 days of first contact,
// and a medical examination within 72 hours when the case is flagged acute.
func DefaultStandards() Standards {
	return Standards{
		{Code: "forensic_interview_within_14_days", Kind: KindForensicInterview, WithinHours: 14 * 24},
		{Code: "acute_medical_examination_within_72_hours", Kind: KindMedicalExamination, WithinHours: 72, WhenFlag: "acute"},
	}
}

// FlagKinds are the flag kinds a standard may name (package caseflag's; kept here as strings so the
// two packages do not depend on each other).
var FlagKinds = []string{"risk_to_child", "safeguarding_concern", "media_attention", "special_needs", "acute", "other"}

// Check returns an error naming the first invalid standard: a code that is empty, longer than 64
// characters or repeated, a kind that is not an appointment kind other than case_review, hours not
// above 0 or above a year, or an unknown flag kind.
func (ss Standards) Check() error {
	seen := map[string]bool{}
	for i, s := range ss {
		switch {
		case s.Code == "" || len(s.Code) > 64 || strings.TrimSpace(s.Code) != s.Code:
			return fmt.Errorf("time standard %d: the code must be 1 to 64 characters", i)
		case seen[s.Code]:
			return fmt.Errorf("time standard %s: the code is repeated", s.Code)
		case !slices.Contains(Kinds, s.Kind) || s.Kind == KindCaseReview:
			return fmt.Errorf("time standard %s: kind %q is not one of forensic_interview, medical_examination, therapy, court, other", s.Code, s.Kind)
		case s.WithinHours <= 0 || s.WithinHours > 366*24:
			return fmt.Errorf("time standard %s: within_hours must be above 0 and at most 8784", s.Code)
		case s.WhenFlag != "" && !slices.Contains(FlagKinds, s.WhenFlag):
			return fmt.Errorf("time standard %s: when_flag %q is not one of %s", s.Code, s.WhenFlag, strings.Join(FlagKinds, ", "))
		}
		seen[s.Code] = true
	}
	return nil
}

// MeasureStatus is how a case stands against a standard.
type MeasureStatus string

// The measure statuses.
const (
	MeasureMet       MeasureStatus = "met"       // done by the deadline
	MeasureLate      MeasureStatus = "late"      // done after the deadline
	MeasureScheduled MeasureStatus = "scheduled" // booked by the deadline, which has not passed
	MeasurePending   MeasureStatus = "pending"   // nothing booked by the deadline, which has not passed
	MeasureOverdue   MeasureStatus = "overdue"   // the deadline passed and nothing was done
)

// Measure is one case measured against one standard.
type Measure struct {
	CaseID        string
	Standard      Standard
	DueAt         time.Time
	Status        MeasureStatus
	AppointmentID string     // the appointment that met it, was late, or is booked ("" when none)
	DoneAt        *time.Time // when the appointment that counts took place (met or late)
	Hours         *float64   // hours from first contact to DoneAt
}

// Overdue reports whether the measure is overdue.
func (m Measure) Overdue() bool { return m.Status == MeasureOverdue }

// MeasureCase measures case c against standards at now, from its appointments (of any status).
func MeasureCase(c casework.Case, appts []Appointment, standards Standards, now time.Time) []Measure {
	out := []Measure{}
	for _, st := range standards {
		if st.WhenFlag != "" && !slices.Contains(c.Flags, st.WhenFlag) {
			continue
		}
		m := Measure{CaseID: c.ID, Standard: st, DueAt: c.OpenedAt.Add(time.Duration(st.WithinHours * float64(time.Hour))), Status: MeasurePending}
		var done, booked *Appointment
		for i := range appts {
			a := &appts[i]
			if a.Kind != st.Kind || !slices.Contains(a.CaseIDs, c.ID) {
				continue
			}
			switch {
			case a.Status == StatusDone && (done == nil || a.StartsAt.Before(done.StartsAt)):
				done = a
			case a.Status == StatusScheduled && !a.StartsAt.After(m.DueAt) && (booked == nil || a.StartsAt.Before(booked.StartsAt)):
				booked = a
			}
		}
		switch {
		case done != nil:
			at := done.StartsAt
			hours := at.Sub(c.OpenedAt).Hours()
			m.AppointmentID, m.DoneAt, m.Hours, m.Status = done.ID, &at, &hours, MeasureMet
			if at.After(m.DueAt) {
				m.Status = MeasureLate
			}
		case now.After(m.DueAt):
			m.Status = MeasureOverdue
		case booked != nil:
			m.AppointmentID, m.Status = booked.ID, MeasureScheduled
		}
		out = append(out, m)
	}
	return out
}

// TimeStandards measures case caseID against the standards now. It returns the case access errors
// of casework.Service.CaseAccess, or the store's or recorder's error.
func (s *Service) TimeStandards(ctx context.Context, p identity.Principal, caseID string) ([]Measure, error) {
	c, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionTimeStandards)
	if err != nil {
		return nil, err
	}
	as, err := s.store.ListCaseAppointments(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the appointments of case %s: %w", c.ID, err)
	}
	as = slices.DeleteFunc(as, func(a Appointment) bool { return a.OrgID != c.OrgID })
	return MeasureCase(c, as, s.standards, s.clock()), s.record(ctx, p, role, ActionTimeStandards, resourceCase, c.ID, audit.OutcomeSuccess)
}

// OrgRecords returns the cases of organisation orgID matching f and all of the organisation's
// appointments, with no access check or audit entry (for callers that checked both: the worklist
// and the statistics). It returns the store's error.
func (s *Service) OrgRecords(ctx context.Context, orgID string, f casework.StoreFilter) ([]casework.Case, []Appointment, error) {
	f.OrgID = orgID
	var cases []casework.Case
	if err := s.eachCase(ctx, f, func(c casework.Case) { cases = append(cases, c) }); err != nil {
		return nil, nil, err
	}
	as, err := s.store.ListOrgAppointments(ctx, orgID, time.Time{}, time.Time{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing appointments: %w", err)
	}
	return cases, as, nil
}

// MeasureAll measures cases against standards at now, each from the appointments naming it.
func MeasureAll(cases []casework.Case, as []Appointment, standards Standards, now time.Time) []Measure {
	byCase := map[string][]Appointment{}
	for _, a := range as {
		for _, id := range a.CaseIDs {
			byCase[id] = append(byCase[id], a)
		}
	}
	var ms []Measure
	for _, c := range cases {
		ms = append(ms, MeasureCase(c, byCase[c.ID], standards, now)...)
	}
	return ms
}

// OverdueCase is an open case with an overdue time standard, for the worklist.
type OverdueCase struct {
	CaseID        string
	CaseworkerIDs []string
	Measure       Measure
}

// DueAction is an action a case review meeting decided that is not done yet.
type DueAction struct {
	AppointmentID string
	MeetingAt     time.Time
	CaseID        string
	Action        Action
}

// Due is what waits in an organisation from this package: overdue time standards of open cases
// (earliest deadline first) and actions not done (earliest due first).
type Due struct {
	Overdue []OverdueCase
	Actions []DueAction
}

// Due returns what waits for supervisor p: the overdue time standards of the organisation's open
// cases and its case review actions not done. It records no audit entry of its own (the worklist
// that calls it records its reads). It returns identity.ErrForbidden unless p is a supervisor, or
// the store's error.
func (s *Service) Due(ctx context.Context, p identity.Principal) (Due, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return Due{}, identity.ErrForbidden
	}
	var cases []casework.Case
	if err := s.eachCase(ctx, casework.StoreFilter{OrgID: p.OrgID, Status: casework.StatusOpen}, func(c casework.Case) { cases = append(cases, c) }); err != nil {
		return Due{}, err
	}
	return s.DueOf(ctx, p, cases)
}

// DueOf is Due over the organisation's open cases as the caller already read them (open: every open
// case of p's organisation with its ID, OpenedAt, Flags and CaseworkerIDs, as
// casework.Service.Overview returns them), so that the worklist reads the cases once. Cases of
// other organisations in open are ignored. It returns identity.ErrForbidden unless p is a
// supervisor, or the store's error.
func (s *Service) DueOf(ctx context.Context, p identity.Principal, open []casework.Case) (Due, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return Due{}, identity.ErrForbidden
	}
	as, err := s.store.ListOrgAppointments(ctx, p.OrgID, time.Time{}, time.Time{})
	if err != nil {
		return Due{}, fmt.Errorf("listing appointments: %w", err)
	}
	cases := slices.DeleteFunc(slices.Clone(open), func(c casework.Case) bool { return c.OrgID != p.OrgID })
	ms := MeasureAll(cases, as, s.standards, s.clock())
	workers := map[string][]string{}
	for _, c := range cases {
		workers[c.ID] = c.CaseworkerIDs
	}
	d := Due{Overdue: []OverdueCase{}}
	for _, m := range ms {
		if m.Overdue() {
			d.Overdue = append(d.Overdue, OverdueCase{CaseID: m.CaseID, CaseworkerIDs: workers[m.CaseID], Measure: m})
		}
	}
	slices.SortFunc(d.Overdue, func(a, b OverdueCase) int {
		return cmp.Or(a.Measure.DueAt.Compare(b.Measure.DueAt), cmp.Compare(a.CaseID, b.CaseID))
	})
	d.Actions = actionsNotDone(as, "")
	return d, nil
}

// Actions returns the case review actions not done that p should see: a supervisor's, every one of
// the organisation; a caseworker's, those assigned to them. It returns identity.ErrForbidden for
// roles without case access, or the store's or recorder's error.
func (s *Service) Actions(ctx context.Context, p identity.Principal) ([]DueAction, error) {
	role, err := caseRole(p)
	if err != nil {
		return nil, s.refused(ctx, p, "", ActionActions, "", audit.OutcomeDenied, err)
	}
	assignee := ""
	if role == identity.RoleCaseworker {
		assignee = p.UserID
	}
	out, err := s.openActions(ctx, p.OrgID, assignee)
	if err != nil {
		return nil, err
	}
	return out, s.record(ctx, p, role, ActionActions, resourceAppointment, "", audit.OutcomeSuccess)
}

// openActions lists the organisation's actions not done (of assignee, when given), earliest due first.
func (s *Service) openActions(ctx context.Context, orgID, assignee string) ([]DueAction, error) {
	as, err := s.store.ListOrgAppointments(ctx, orgID, time.Time{}, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("listing appointments: %w", err)
	}
	return actionsNotDone(as, assignee), nil
}

// actionsNotDone returns the actions not done of the case review meetings among as (not cancelled),
// of assignee when given, earliest due first.
func actionsNotDone(as []Appointment, assignee string) []DueAction {
	out := []DueAction{}
	for _, a := range as {
		if a.Kind != KindCaseReview || a.Status == StatusCancelled {
			continue
		}
		for _, r := range a.Reviews {
			for _, x := range r.Actions {
				if x.DoneAt == nil && (assignee == "" || x.AssigneeID == assignee) {
					out = append(out, DueAction{AppointmentID: a.ID, MeetingAt: a.StartsAt, CaseID: r.CaseID, Action: x})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b DueAction) int {
		return cmp.Or(a.Action.Due.Compare(b.Action.Due), cmp.Compare(a.Action.ID, b.Action.ID))
	})
	return out
}
