package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// coachingData is the coaching page: an interviewer's open-prompt share and flags per month, as a
// chart (server-rendered SVG) and as a table with the same figures.
type coachingData struct {
	Report      interview.Report
	Interviewer string
	Chart       chart
	Rows        []coachingRow
}

type coachingRow struct {
	Month          string
	Own, Org       *float64
	Sessions       int
	OrgSessions    int
	Flags, OrgFlag int
}

// chart is a line chart of two series over the months, in SVG user units (viewBox 0 0 W H).
type chart struct {
	W, H          int
	Left, Bottom  int
	Own, Org      string // polyline points
	XLabels       []chartLabel
	YLabels       []chartLabel
	Gridlines     []int
	HasOwn, HasOr bool
}

type chartLabel struct {
	X, Y int
	Text string
}

// coaching shows a coaching report (interview.Service.Coaching, as GET /v1/interviews/coaching):
// ?interviewer=<user id> (default: the caller), the last 12 months.
func (c *Console) coaching(r *request) error {
	who := r.c.Query("interviewer")
	rep, err := c.deps.Interviews.Coaching(r.ctx(), r.p, who, "", "")
	if err != nil {
		return err
	}
	names, err := c.deps.Identity.DisplayNames(r.ctx(), r.p.OrgID, []string{rep.InterviewerID})
	if err != nil {
		return err
	}
	d := coachingData{Report: rep, Interviewer: or(names[rep.InterviewerID], rep.InterviewerID)}
	for _, m := range rep.Months {
		d.Rows = append(d.Rows, coachingRow{Month: m.Month, Own: m.Interviewer.OpenShare, Org: m.Organisation.OpenShare,
			Sessions: m.Interviewer.Sessions, OrgSessions: m.Organisation.Sessions, Flags: sum(m.Interviewer.Flags), OrgFlag: sum(m.Organisation.Flags)})
	}
	d.Chart = buildChart(d.Rows)
	return c.render(r, fiber.StatusOK, "coaching", "console.coaching.title", d, "")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// buildChart lays the open-prompt shares out: months left to right (also in right-to-left locales,
// as time axes usually are; the SVG says dir="ltr"), 0 to 100 % bottom to top.
func buildChart(rows []coachingRow) chart {
	ch := chart{W: 640, H: 260, Left: 48, Bottom: 220}
	plotW, plotH := ch.W-ch.Left-16, ch.Bottom-16
	x := func(i int) int {
		if len(rows) < 2 {
			return ch.Left + plotW/2
		}
		return ch.Left + i*plotW/(len(rows)-1)
	}
	y := func(f float64) int { return ch.Bottom - int(f*float64(plotH)) }
	var own, org []string
	for i, row := range rows {
		if row.Own != nil {
			own = append(own, fmt.Sprintf("%d,%d", x(i), y(*row.Own)))
		}
		if row.Org != nil {
			org = append(org, fmt.Sprintf("%d,%d", x(i), y(*row.Org)))
		}
		if i%2 == 0 || i == len(rows)-1 {
			ch.XLabels = append(ch.XLabels, chartLabel{X: x(i), Y: ch.Bottom + 18, Text: row.Month})
		}
	}
	for _, pct := range []int{0, 25, 50, 75, 100} {
		yy := y(float64(pct) / 100)
		ch.Gridlines = append(ch.Gridlines, yy)
		ch.YLabels = append(ch.YLabels, chartLabel{X: ch.Left - 6, Y: yy + 4, Text: fmt.Sprintf("%d%%", pct)})
	}
	ch.Own, ch.Org = strings.Join(own, " "), strings.Join(org, " ")
	ch.HasOwn, ch.HasOr = len(own) > 0, len(org) > 0
	return ch
}
