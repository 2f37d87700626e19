package console

import (
	"math"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/worklist"
)

// declareSupervisor adds the supervisors' pages: the worklist (their home page) and the interview
// review page with its review and addendum forms.
func (c *Console) declareSupervisor() {
	get, post := fiber.MethodGet, fiber.MethodPost
	supervisor := access.Roles(identity.RoleSupervisor)
	review := Prefix + "/cases/:case/interviews/:interview"
	c.routes = append(c.routes,
		route{method: get, path: review, policy: supervisor, h: c.reviewPage},
		route{method: post, path: review + "/review", policy: supervisor, h: c.review},
		route{method: post, path: review + "/addenda", policy: supervisor, h: c.addAddendum},
		route{method: get, path: Prefix + "/coaching", policy: supervisor, h: c.coaching, nav: &navEntry{label: "console.nav.coaching", order: 20}},
	)
	if c.deps.Worklist != nil {
		c.homeExtra = c.worklistPage
	}
}

// MaxOverdueShown is how many overdue steps the worklist page lists (the oldest) unless the
// supervisor asks for all of them (?overdue=all): a table of thousands of rows is of no use at a
// glance, and rendering it would cost more than the rest of the page. GET /v1/worklist lists all.
const MaxOverdueShown = 100

// worklistData is the worklist page: the same worklist as GET /v1/worklist, with labels.
type worklistData struct {
	W             worklist.Worklist
	Reviews       []reviewRow
	Overdue       []casework.OverdueStep // the oldest MaxOverdueShown of W.Overdue, or all of them
	OverdueHidden int                    // how many of W.Overdue are not shown
}

// reviewRow is one interview waiting for review, with its flags named.
type reviewRow struct {
	Session   interview.Session
	Name      string
	Flags     []string // localized short names
	OpenShare *float64
}

// worklistPage is a supervisor's home page: the worklist.
func (c *Console) worklistPage(r *request) error {
	w, err := c.deps.Worklist.Build(r.ctx(), r.p)
	if err != nil {
		return err
	}
	d := worklistData{W: w, Overdue: w.Overdue}
	if len(w.Overdue) > MaxOverdueShown && r.c.Query("overdue") != "all" {
		d.Overdue, d.OverdueHidden = w.Overdue[:MaxOverdueShown], len(w.Overdue)-MaxOverdueShown
	}
	for _, sess := range w.Reviews {
		row := reviewRow{Session: sess, Name: w.Names[sess.InterviewerID]}
		if q := sess.Quality; q != nil {
			row.OpenShare = q.Measures.OpenShare
			for _, f := range q.Flags {
				row.Flags = append(row.Flags, c.flagName(r.loc.Code, f.Code))
			}
		}
		d.Reviews = append(d.Reviews, row)
	}
	notice := ""
	switch r.c.Query("notice") {
	case "password_changed":
		notice = "console.password.changed"
	case "approved":
		notice = "console.review.approved"
	case "returned":
		notice = "console.review.returned"
	}
	return c.render(r, fiber.StatusOK, "worklist", "console.worklist.title", d, notice)
}

// flagName is a flag's short localized name (console.flag.<code>, or the code of a configured rule
// without one).
func (c *Console) flagName(loc, code string) string {
	id := "console.flag." + code
	if s := c.deps.Catalog.Message(loc, id, nil); s != id {
		return s
	}
	return code
}

// flagMessage explains a flag in full, as the API's flag message does.
func (c *Console) flagMessage(loc string, f interview.Flag, phaseTitle func(string) string) string {
	value, threshold := f.Value, f.Threshold
	if strings.HasSuffix(f.Measure, "_share") {
		value, threshold = value*100, threshold*100
	}
	data := map[string]any{"Value": math.Round(value), "Threshold": math.Round(threshold), "Phase": ""}
	if f.PhaseID != "" {
		data["Phase"] = phaseTitle(f.PhaseID)
	}
	id := "interview.flag." + f.Code
	if s := c.deps.Catalog.Message(loc, id, data); s != id {
		return s
	}
	return c.deps.Catalog.Message(loc, "interview.flag.other", map[string]any{"Code": f.Code})
}
