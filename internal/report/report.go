package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// MinCount is the smallest count a report shows; smaller counts read Suppressed.
const MinCount = 5

// Suppressed is how a count below MinCount is shown.
const Suppressed = "<5"

// MaxPeriodDays is the longest period a report covers.
const MaxPeriodDays = 1100

// ActionPeriod is the audit action of a period report (resource type "report").
const ActionPeriod = "report.period"

// Show returns n as shown in a report: Suppressed below MinCount, else its decimal form.
func Show(n int) string {
	if n < MinCount {
		return Suppressed
	}
	return strconv.Itoa(n)
}

// InterviewFact is what a report reads of an interview session.
type InterviewFact struct {
	CaseID      string
	SubmittedAt *time.Time // the last submission; nil for a session never submitted
	Prompts     int        // at the last submission
	OpenPrompts int
}

// EvidenceFact is what a report reads of an evidence item.
type EvidenceFact struct {
	CaseID          string
	CreatedAt       time.Time
	IntegrityFailed bool
}

// Store reads the facts of an organisation's records the reports count (clear fields only).
type Store interface {
	// InterviewFacts returns the organisation's interview sessions.
	InterviewFacts(ctx context.Context, orgID string) ([]InterviewFact, error)
	// EvidenceFacts returns the organisation's evidence items created in [from, to).
	EvidenceFacts(ctx context.Context, orgID string, from, to time.Time) ([]EvidenceFact, error)
}

// Appointments gives an organisation's cases and appointments and the time standards
// (*appointment.Service satisfies it).
type Appointments interface {
	// OrgRecords returns the cases of the organisation matching f and all its appointments.
	OrgRecords(ctx context.Context, orgID string, f casework.StoreFilter) ([]casework.Case, []appointment.Appointment, error)
	// Standards returns the time standards.
	Standards() appointment.Standards
}

// ReferralCount is one line of the referrals section: referrals sent or received in the period, by
// service requested and outcome.
type ReferralCount struct {
	Direction string // "sent" or "received"
	Service   string
	Outcome   string
	Count     int
}

// ReferralSource is the seam through which the referrals of another package reach the reports. Until
// one is wired (Service.Referrals), reports say the section is not available.
type ReferralSource interface {
	// ReferralCounts returns the organisation's referrals sent and received in [from, to).
	ReferralCounts(ctx context.Context, orgID string, from, to time.Time) ([]ReferralCount, error)
}

// Service computes reports as the caller, recording each in the audit log.
type Service struct {
	Store     Store
	Cases     Appointments
	Referrals ReferralSource // nil: the referrals section is not available
	Events    audit.Recorder
	Now       func() time.Time // nil: time.Now
}

// Figure is a value computed from N values; Value is nil when N is below MinCount.
type Figure struct {
	N     int
	Value *float64
}

// TimeTo is the time from first contact to the first appointment of a kind marked done, in hours.
type TimeTo struct {
	Kind   appointment.Kind
	Median Figure
	P90    Figure
}

// StandardFigures counts the served cases measured against one standard.
type StandardFigures struct {
	Standard   appointment.Standard
	Considered int // met, late or overdue
	Within     int // met
	Overdue    int
	Share      Figure // Within over Considered
}

// MonthShare is the open-prompt share of the sessions submitted in one month.
type MonthShare struct {
	Month    string // YYYY-MM
	Sessions int
	Share    Figure
}

// Period is a period report.
type Period struct {
	OrgID               string
	From, To            time.Time // [From, To)
	GeneratedAt         time.Time
	Children            int
	ByAgeBand           map[string]int
	ByGender            map[string]int // "not_recorded" for cases without one
	ByCaseType          map[string]int // a case counts once for each of its types
	TimeTo              []TimeTo
	Standards           []StandardFigures
	Interviews          int
	ChildrenInterviewed int
	InterviewsPerChild  Figure
	ByInterviewCount    map[string]int // "1", "2", "3_or_more"
	OpenShare           []MonthShare
	EvidenceItems       int
	IntegrityFailures   int
	Referrals           []ReferralCount // nil when no ReferralSource is wired
}

// PeriodReport computes the report of p's organisation for [from, to). It returns
// identity.ErrForbidden unless p is a supervisor or an auditor of an organisation, an Invalid
// *apperr.Error for a missing, reversed or too long period, or the store's or recorder's error.
func (s *Service) PeriodReport(ctx context.Context, p identity.Principal, from, to time.Time) (Period, error) {
	role := identity.RoleSupervisor
	if !p.HasRole(role) {
		role = identity.RoleAuditor
	}
	if !p.HasRole(role) || p.OrgID == "" {
		if err := s.Events.RecordEvent(ctx, p.AuditEvent("", ActionPeriod, "report", "", audit.OutcomeDenied)); err != nil {
			return Period{}, err
		}
		return Period{}, identity.ErrForbidden
	}
	var fe apperr.FieldErrors
	switch {
	case from.IsZero():
		fe.Add("from", "required", "field.required", nil)
	case to.IsZero():
		fe.Add("to", "required", "field.required", nil)
	case !to.After(from):
		fe.Add("to", "after", "care.field.after", map[string]any{"Other": "from"})
	case to.Sub(from) > MaxPeriodDays*24*time.Hour:
		fe.Add("to", "period_too_long", "care.field.period_too_long", map[string]any{"Days": MaxPeriodDays})
	}
	if err := fe.Err(); err != nil {
		return Period{}, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	r := Period{OrgID: p.OrgID, From: from, To: to, GeneratedAt: now().UTC().Truncate(time.Second),
		ByAgeBand: map[string]int{}, ByGender: map[string]int{}, ByCaseType: map[string]int{}, ByInterviewCount: map[string]int{}}
	cases, appts, err := s.Cases.OrgRecords(ctx, p.OrgID, casework.StoreFilter{})
	if err != nil {
		return Period{}, err
	}
	served := map[string]bool{}
	for _, c := range cases {
		if !c.OpenedAt.Before(to) || c.ClosedAt != nil && c.ClosedAt.Before(from) {
			continue
		}
		served[c.ID] = true
		r.Children++
		r.ByAgeBand[string(c.Child.AgeBand)]++
		g := string(c.Child.Gender)
		if g == "" {
			g = "not_recorded"
		}
		r.ByGender[g]++
		for _, t := range c.CaseTypes {
			r.ByCaseType[string(t)]++
		}
	}
	standards := s.Cases.Standards()
	r.TimeTo, r.Standards = timeFigures(cases, appts, appointment.MeasureAll(cases, appts, standards, r.GeneratedAt), served, standards)
	if err := s.interviews(ctx, &r, served); err != nil {
		return Period{}, err
	}
	items, err := s.Store.EvidenceFacts(ctx, p.OrgID, from, to)
	if err != nil {
		return Period{}, fmt.Errorf("reading evidence items: %w", err)
	}
	for _, it := range items {
		r.EvidenceItems++
		if it.IntegrityFailed {
			r.IntegrityFailures++
		}
	}
	if s.Referrals != nil {
		if r.Referrals, err = s.Referrals.ReferralCounts(ctx, p.OrgID, from, to); err != nil {
			return Period{}, fmt.Errorf("counting referrals: %w", err)
		}
		if r.Referrals == nil {
			r.Referrals = []ReferralCount{}
		}
	}
	if err := s.Events.RecordEvent(ctx, p.AuditEvent(role, ActionPeriod, "report", "", audit.OutcomeSuccess)); err != nil {
		return Period{}, err
	}
	return r, nil
}

// timeFigures computes the times to forensic interview and medical examination of the served cases
// and the figures of every standard.
func timeFigures(cases []casework.Case, appts []appointment.Appointment, measures []appointment.Measure, served map[string]bool,
	standards appointment.Standards) ([]TimeTo, []StandardFigures) {
	figs := make([]StandardFigures, len(standards))
	for i, st := range standards {
		figs[i].Standard = st
	}
	for _, m := range measures {
		if !served[m.CaseID] {
			continue
		}
		i := slices.IndexFunc(standards, func(s appointment.Standard) bool { return s.Code == m.Standard.Code })
		switch m.Status {
		case appointment.MeasureMet:
			figs[i].Within++
			figs[i].Considered++
		case appointment.MeasureLate:
			figs[i].Considered++
		case appointment.MeasureOverdue:
			figs[i].Overdue++
			figs[i].Considered++
		}
	}
	for i := range figs {
		figs[i].Share = figure(figs[i].Considered, func() float64 { return float64(figs[i].Within) / float64(figs[i].Considered) })
	}
	opened := map[string]time.Time{}
	for _, c := range cases {
		if served[c.ID] {
			opened[c.ID] = c.OpenedAt
		}
	}
	var out []TimeTo
	for _, kind := range []appointment.Kind{appointment.KindForensicInterview, appointment.KindMedicalExamination} {
		first := map[string]time.Time{}
		for _, a := range appts {
			if a.Kind != kind || a.Status != appointment.StatusDone {
				continue
			}
			for _, id := range a.CaseIDs {
				if _, ok := opened[id]; ok && (first[id].IsZero() || a.StartsAt.Before(first[id])) {
					first[id] = a.StartsAt
				}
			}
		}
		var vs []float64
		for id, at := range first {
			vs = append(vs, at.Sub(opened[id]).Hours())
		}
		slices.Sort(vs)
		out = append(out, TimeTo{Kind: kind, Median: figure(len(vs), func() float64 { return median(vs) }),
			P90: figure(len(vs), func() float64 { return vs[int(math.Ceil(0.9*float64(len(vs))))-1] })})
	}
	return out, figs
}

// interviews fills in the interview figures of the served cases.
func (s *Service) interviews(ctx context.Context, r *Period, served map[string]bool) error {
	facts, err := s.Store.InterviewFacts(ctx, r.OrgID)
	if err != nil {
		return fmt.Errorf("reading interview sessions: %w", err)
	}
	perCase := map[string]int{}
	type month struct{ sessions, prompts, open int }
	months := map[string]*month{}
	for m := time.Date(r.From.Year(), r.From.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(r.To); m = m.AddDate(0, 1, 0) {
		months[m.Format("2006-01")] = &month{}
		r.OpenShare = append(r.OpenShare, MonthShare{Month: m.Format("2006-01")})
	}
	for _, f := range facts {
		if served[f.CaseID] {
			r.Interviews++
			perCase[f.CaseID]++
		}
		if f.SubmittedAt != nil && !f.SubmittedAt.Before(r.From) && f.SubmittedAt.Before(r.To) {
			m := months[f.SubmittedAt.UTC().Format("2006-01")]
			m.sessions++
			m.prompts += f.Prompts
			m.open += f.OpenPrompts
		}
	}
	for i, ms := range r.OpenShare {
		m := months[ms.Month]
		r.OpenShare[i].Sessions = m.sessions
		r.OpenShare[i].Share = figure(m.sessions, func() float64 {
			if m.prompts == 0 {
				return 0
			}
			return float64(m.open) / float64(m.prompts)
		})
	}
	r.ChildrenInterviewed = len(perCase)
	for _, n := range perCase {
		switch {
		case n == 1:
			r.ByInterviewCount["1"]++
		case n == 2:
			r.ByInterviewCount["2"]++
		default:
			r.ByInterviewCount["3_or_more"]++
		}
	}
	r.InterviewsPerChild = figure(r.ChildrenInterviewed, func() float64 { return float64(r.Interviews) / float64(r.ChildrenInterviewed) })
	return nil
}

// figure returns value() rounded to 3 decimals when n is at least MinCount.
func figure(n int, value func() float64) Figure {
	f := Figure{N: n}
	if n >= MinCount {
		v := math.Round(value()*1000) / 1000
		f.Value = &v
	}
	return f
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
