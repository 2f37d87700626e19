package console

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/report"
)

// chartWidth is the length in pixels of a chart's longest bar.
const chartWidth = 320

// reportData is the reports page: the period as asked (days, both included), the report, and its
// charts.
type reportData struct {
	From, To string
	Report   report.Period
	Charts   []barChart
	CSV      string // the download's link (dates only)
}

// barChart is one horizontal bar chart, drawn as SVG on the server.
type barChart struct {
	ID, Title string
	Bars      []bar
	Height    int
}

// bar is one bar: its label, the count as shown (suppressed below report.MinCount) and its length
// (0 for a suppressed count, so that a chart never tells a small count).
type bar struct {
	Label, Shown               string
	Y, Width                   int
	LabelY, BarY, TextX, TextY int // where the label, the bar and the count are drawn
	Track                      int // the width of the bar's track (a stub when suppressed)
}

// reportPeriod reads ?from= and ?to= (default: the first of this month to today).
func (c *Console) reportPeriod(r *request) (from, to time.Time, err error) {
	now := time.Now().UTC()
	if c.deps.Care.Reports.Now != nil {
		now = c.deps.Care.Reports.Now().UTC()
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var fe apperr.FieldErrors
	from = dateParam(r, "from", today.AddDate(0, 0, 1-today.Day()), &fe)
	to = dateParam(r, "to", today, &fe)
	return from, to, fe.Err()
}

// reportsPage is GET /console/reports?from=YYYY-MM-DD&to=YYYY-MM-DD: the organisation's period
// report (report.Service.PeriodReport, as GET /v1/reports/period: supervisors and auditors, audited
// as report.period) with bar charts of the children served and the referrals, counts below 5 shown
// as <5. A malformed or reversed period answers the localized 400 page.
func (c *Console) reportsPage(r *request) error {
	from, to, err := c.reportPeriod(r)
	if err != nil {
		return err
	}
	rep, err := c.deps.Care.Reports.PeriodReport(r.ctx(), r.p, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	cat, loc := c.deps.Catalog, r.loc.Code
	msg := func(id string) string { return cat.Message(loc, id, nil) }
	d := reportData{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Report: rep}
	d.CSV = Prefix + "/reports/period.csv?from=" + d.From + "&to=" + d.To
	counts := func(id, title, prefix string, m map[string]int) barChart {
		keys := slices.Sorted(maps.Keys(m))
		labels := make([]string, len(keys))
		values := make([]int, len(keys))
		for i, k := range keys {
			labels[i], values[i] = msg(prefix+k), m[k]
		}
		return newChart(id, msg(title), labels, values)
	}
	d.Charts = append(d.Charts,
		counts("chart-age-band", "console.reports.by_age_band", "age_band.", rep.ByAgeBand),
		counts("chart-gender", "console.reports.by_gender", "console.reports.gender.", rep.ByGender),
		counts("chart-case-type", "console.reports.by_case_type", "case_type.", rep.ByCaseType))
	if rep.Referrals != nil {
		var labels []string
		var values []int
		for _, x := range rep.Referrals {
			labels = append(labels, msg("console.reports.referrals."+x.Direction)+" · "+msg("service."+x.Service)+" · "+msg("referral.status."+x.Outcome))
			values = append(values, x.Count)
		}
		d.Charts = append(d.Charts, newChart("chart-referrals", msg("console.reports.referrals"), labels, values))
	}
	return c.render(r, fiber.StatusOK, "reports", "console.reports.title", d, "")
}

// newChart lays out a bar chart of values (in the order given), suppressing small counts.
func newChart(id, title string, labels []string, values []int) barChart {
	top := 0
	for _, v := range values {
		if v >= report.MinCount {
			top = max(top, v)
		}
	}
	ch := barChart{ID: id, Title: title, Height: max(1, len(values)) * 40}
	for i, v := range values {
		b := bar{Label: labels[i], Shown: report.Show(v), Y: i * 40, Track: 2}
		if v >= report.MinCount && top > 0 {
			b.Width = max(2, v*chartWidth/top)
			b.Track = b.Width
		}
		b.LabelY, b.BarY, b.TextX, b.TextY = b.Y+12, b.Y+17, b.Track+6, b.Y+29
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

// reportCSV is GET /console/reports/period.csv?from=&to=: the same report as a CSV download, as
// GET /v1/reports/period?format=csv writes it (audited as report.period).
func (c *Console) reportCSV(r *request) error {
	from, to, err := c.reportPeriod(r)
	if err != nil {
		return err
	}
	rep, err := c.deps.Care.Reports.PeriodReport(r.ctx(), r.p, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	b, err := httpapi.PeriodCSV(rep)
	if err != nil {
		return errorf("writing the report: %w", err)
	}
	r.c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	r.c.Set(fiber.HeaderContentDisposition, `attachment; filename="period-report-`+from.Format(time.DateOnly)+"-to-"+to.Format(time.DateOnly)+`.csv"`)
	return r.c.Send(b)
}

// Show returns a count as the report shows it (<5 below report.MinCount).
func (reportData) Show(n int) string { return report.Show(n) }

// Hours formats a figure's hours or "—" when it is suppressed.
func (reportData) Hours(f report.Figure) string {
	if f.Value == nil {
		return "—"
	}
	return strconv.FormatFloat(*f.Value, 'f', -1, 64)
}
