package httpapi

import (
	"bytes"
	"encoding/csv"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/report"
)

func (s *Server) reportRoutes(app *fiber.App) {
	if s.deps.Reports == nil {
		return
	}
	s.handle(app, fiber.MethodGet, "/v1/reports/period", rolesOnly("supervisor", "auditor"), s.periodReport)
}

type figureView struct {
	N     string   `json:"n"`
	Value *float64 `json:"value"`
}

type countView struct {
	Key   string `json:"key"`
	Count string `json:"count"`
}

type timeToView struct {
	Kind   string     `json:"kind"`
	Median figureView `json:"median_hours"`
	P90    figureView `json:"p90_hours"`
}

type standardFiguresView struct {
	Code        string     `json:"code"`
	Kind        string     `json:"kind"`
	WithinHours float64    `json:"within_hours"`
	WhenFlag    *string    `json:"when_flag"`
	Considered  string     `json:"considered"`
	Within      string     `json:"within"`
	Overdue     string     `json:"overdue"`
	Share       figureView `json:"share_within"`
}

type monthShareView struct {
	Month    string     `json:"month"`
	Sessions string     `json:"sessions"`
	Share    figureView `json:"open_share"`
}

type referralCountView struct {
	Direction string `json:"direction"`
	Service   string `json:"service"`
	Outcome   string `json:"outcome"`
	Count     string `json:"count"`
}

type periodReportView struct {
	From                string                `json:"from"`
	To                  string                `json:"to"`
	GeneratedAt         time.Time             `json:"generated_at"`
	Suppressed          string                `json:"suppressed_below"`
	Children            string                `json:"children"`
	ByAgeBand           []countView           `json:"by_age_band"`
	ByGender            []countView           `json:"by_gender"`
	ByCaseType          []countView           `json:"by_case_type"`
	TimeTo              []timeToView          `json:"time_to"`
	Standards           []standardFiguresView `json:"time_standards"`
	Interviews          string                `json:"interviews"`
	ChildrenInterviewed string                `json:"children_interviewed"`
	InterviewsPerChild  figureView            `json:"interviews_per_child"`
	ByInterviewCount    []countView           `json:"children_by_interview_count"`
	OpenShare           []monthShareView      `json:"open_share_by_month"`
	EvidenceItems       string                `json:"evidence_items"`
	IntegrityFailures   string                `json:"integrity_failures"`
	Referrals           *[]referralCountView  `json:"referrals"`
}

func toFigureView(f report.Figure) figureView { return figureView{N: report.Show(f.N), Value: f.Value} }

func toCountViews(m map[string]int) []countView {
	out := []countView{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, countView{Key: k, Count: report.Show(m[k])})
	}
	return out
}

func toPeriodReportView(r report.Period) periodReportView {
	v := periodReportView{From: r.From.Format(time.DateOnly), To: r.To.AddDate(0, 0, -1).Format(time.DateOnly), GeneratedAt: r.GeneratedAt,
		Suppressed: strconv.Itoa(report.MinCount), Children: report.Show(r.Children), ByAgeBand: toCountViews(r.ByAgeBand),
		ByGender: toCountViews(r.ByGender), ByCaseType: toCountViews(r.ByCaseType), Interviews: report.Show(r.Interviews),
		ChildrenInterviewed: report.Show(r.ChildrenInterviewed), InterviewsPerChild: toFigureView(r.InterviewsPerChild),
		ByInterviewCount: toCountViews(r.ByInterviewCount), EvidenceItems: report.Show(r.EvidenceItems),
		IntegrityFailures: report.Show(r.IntegrityFailures), TimeTo: []timeToView{}, Standards: []standardFiguresView{}, OpenShare: []monthShareView{}}
	for _, t := range r.TimeTo {
		v.TimeTo = append(v.TimeTo, timeToView{Kind: string(t.Kind), Median: toFigureView(t.Median), P90: toFigureView(t.P90)})
	}
	for _, f := range r.Standards {
		sv := standardFiguresView{Code: f.Standard.Code, Kind: string(f.Standard.Kind), WithinHours: f.Standard.WithinHours,
			Considered: report.Show(f.Considered), Within: report.Show(f.Within), Overdue: report.Show(f.Overdue), Share: toFigureView(f.Share)}
		if f.Standard.WhenFlag != "" {
			flag := f.Standard.WhenFlag
			sv.WhenFlag = &flag
		}
		v.Standards = append(v.Standards, sv)
	}
	for _, m := range r.OpenShare {
		v.OpenShare = append(v.OpenShare, monthShareView{Month: m.Month, Sessions: report.Show(m.Sessions), Share: toFigureView(m.Share)})
	}
	if r.Referrals != nil {
		refs := make([]referralCountView, len(r.Referrals))
		for i, x := range r.Referrals {
			refs[i] = referralCountView{Direction: x.Direction, Service: x.Service, Outcome: x.Outcome, Count: report.Show(x.Count)}
		}
		v.Referrals = &refs
	}
	return v
}

type periodQuery struct {
	Format string `query:"format" validate:"omitempty,oneof=json csv"`
}

// periodReport answers GET /v1/reports/period?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv]: the
// organisation's statistics for the days from and to (both included), as JSON or CSV.
func (s *Server) periodReport(c *fiber.Ctx) error {
	q := readQuery(c, "from", "to", "format")
	from, to := q.date("from"), q.date("to")
	pq := periodQuery{Format: q.str("format")}
	if err := q.done(s.validate, &pq); err != nil {
		return err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	r, err := s.deps.Reports.PeriodReport(c.UserContext(), principal(c), from, to)
	if err != nil {
		return err
	}
	v := toPeriodReportView(r)
	if pq.Format != "csv" {
		return s.sendPrivate(c, v)
	}
	b, err := periodCSV(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	return c.Send(b)
}

// PeriodCSV writes report r as GET /v1/reports/period?format=csv does (for the console's download);
// it returns the CSV writer's error.
func PeriodCSV(r report.Period) ([]byte, error) { return periodCSV(toPeriodReportView(r)) }

// periodCSV writes a report as rows of section, key, measure, value (the same figures as the JSON).
func periodCSV(v periodReportView) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{{"section", "key", "measure", "value"}, {"period", "", "from", v.From}, {"period", "", "to", v.To},
		{"children", "", "count", v.Children}}
	for _, x := range []struct {
		section string
		list    []countView
	}{{"age_band", v.ByAgeBand}, {"gender", v.ByGender}, {"case_type", v.ByCaseType}, {"children_by_interview_count", v.ByInterviewCount}} {
		for _, c := range x.list {
			rows = append(rows, []string{x.section, c.Key, "count", c.Count})
		}
	}
	fig := func(f figureView) string {
		if f.Value == nil {
			return ""
		}
		return strconv.FormatFloat(*f.Value, 'f', -1, 64)
	}
	for _, t := range v.TimeTo {
		rows = append(rows, []string{"time_to", t.Kind, "n", t.Median.N}, []string{"time_to", t.Kind, "median_hours", fig(t.Median)},
			[]string{"time_to", t.Kind, "p90_hours", fig(t.P90)})
	}
	for _, st := range v.Standards {
		rows = append(rows, []string{"time_standard", st.Code, "considered", st.Considered}, []string{"time_standard", st.Code, "within", st.Within},
			[]string{"time_standard", st.Code, "overdue", st.Overdue}, []string{"time_standard", st.Code, "share_within", fig(st.Share)})
	}
	rows = append(rows, []string{"interviews", "", "count", v.Interviews}, []string{"interviews", "", "children_interviewed", v.ChildrenInterviewed},
		[]string{"interviews", "", "per_child", fig(v.InterviewsPerChild)})
	for _, m := range v.OpenShare {
		rows = append(rows, []string{"open_share", m.Month, "sessions", m.Sessions}, []string{"open_share", m.Month, "share", fig(m.Share)})
	}
	rows = append(rows, []string{"evidence", "", "items", v.EvidenceItems}, []string{"evidence", "", "integrity_failures", v.IntegrityFailures})
	if v.Referrals != nil {
		for _, r := range *v.Referrals {
			rows = append(rows, []string{"referrals", r.Direction + ":" + r.Service + ":" + r.Outcome, "count", r.Count})
		}
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// date returns a YYYY-MM-DD parameter as midnight UTC, the zero time when absent; another form is a
// field error.
func (q *query) date(name string) time.Time {
	if !q.values.Has(name) {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, q.values.Get(name))
	if err != nil {
		q.errs = append(q.errs, apperr.FieldError{Field: name, Code: "date", MessageID: "care.field.date"})
	}
	return t
}
