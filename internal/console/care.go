package console

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/report"
)

// CareDeps are the services of working across agencies the console shows: the case page's
// consents, services, flags and appointments, the calendar and the reports page. Each is the
// service /v1 calls, so scoping and audit entries are the API's.
type CareDeps struct {
	Consents     *consent.Service
	Flags        *caseflag.Service
	Services     *caseservice.Service
	Appointments *appointment.Service
	Reports      *report.Service
}

// declareCare adds the routes of working across agencies: accepting and declining a received
// referral, raising and resolving case flags, the calendar and the reports page.
func (c *Console) declareCare() {
	get, post := fiber.MethodGet, fiber.MethodPost
	sup := access.Roles(identity.RoleSupervisor)
	casePeople := access.Roles(identity.RoleSupervisor, identity.RoleCaseworker)
	if c.deps.Referrals != nil {
		c.routes = append(c.routes,
			route{method: get, path: Prefix + "/referrals/:id", policy: sup, h: c.referralPage},
			route{method: post, path: Prefix + "/referrals/:id/accept", policy: sup, h: c.acceptReferral},
			route{method: post, path: Prefix + "/referrals/:id/decline", policy: sup, h: c.declineReferral})
	}
	if c.deps.Care.Flags != nil {
		c.routes = append(c.routes,
			route{method: post, path: Prefix + "/cases/:case/flags", policy: casePeople, h: c.raiseFlag},
			route{method: post, path: Prefix + "/cases/:case/flags/:flag/resolve", policy: casePeople, h: c.resolveFlag})
	}
	if c.deps.Care.Appointments != nil {
		c.routes = append(c.routes, route{method: get, path: Prefix + "/calendar", policy: casePeople, h: c.calendar,
			nav: &navEntry{label: "console.nav.calendar", order: 17}})
	}
	if c.deps.Care.Reports != nil {
		reporters := access.Roles(identity.RoleSupervisor, identity.RoleAuditor)
		c.routes = append(c.routes,
			route{method: get, path: Prefix + "/reports", policy: reporters, h: c.reportsPage, nav: &navEntry{label: "console.nav.reports", order: 18}},
			route{method: get, path: Prefix + "/reports/period.csv", policy: reporters, h: c.reportCSV})
	}
}

// caseCare is the case page's working-across-agencies sections.
type caseCare struct {
	Shown        bool // the services are wired: the sections are shown
	Consents     []consentRow
	Services     []serviceRow
	Flags        []flagItem
	FlagKinds    []caseflag.Kind
	Appointments []appointment.Appointment
	Measures     []appointment.Measure
	Forms        careForms // the forms recording them (care_forms.go)
}

// consentRow is one consent or legal basis with where it stands now.
type consentRow struct {
	consent.Consent
	Status consent.Status
}

// serviceRow is one service with its outcome described in the page's language.
type serviceRow struct {
	caseservice.Record
	Outcome []string
}

// flagItem is one case flag with the names of who raised and resolved it.
type flagItem struct {
	caseflag.Flag
	RaisedByName, ResolvedByName string
}

// loadCare reads the case's consents, services, flags, appointments and time standards through
// their services (each audited as through the API) in g; names collects the user ids to name.
// The rows are filled in by finishCare once g is done.
func (c *Console) loadCare(r *request, id string, g *group, out *caseCare) {
	d := c.deps.Care
	if d.Consents == nil || d.Flags == nil || d.Services == nil || d.Appointments == nil {
		return
	}
	ctx, p := r.ctx(), r.p
	out.Shown, out.FlagKinds = true, caseflag.Kinds
	c.loadCareForms(r, g, &out.Forms)
	g.Go(func() error {
		cs, err := d.Consents.List(ctx, p, id)
		now := d.Consents.Now()
		for _, x := range cs {
			out.Consents = append(out.Consents, consentRow{Consent: x, Status: x.StatusAt(now)})
		}
		return err
	})
	g.Go(func() error {
		rs, err := d.Services.List(ctx, p, id)
		for _, x := range rs {
			out.Services = append(out.Services, serviceRow{Record: x})
		}
		return err
	})
	g.Go(func() error {
		fs, err := d.Flags.List(ctx, p, id)
		for _, x := range fs {
			out.Flags = append(out.Flags, flagItem{Flag: x})
		}
		return err
	})
	g.Go(func() (err error) { out.Appointments, err = d.Appointments.ListForCase(ctx, p, id); return err })
	g.Go(func() (err error) { out.Measures, err = d.Appointments.TimeStandards(ctx, p, id); return err })
}

// careUserIDs returns the users the care sections name.
func (cc *caseCare) careUserIDs() []string {
	var ids []string
	for _, f := range cc.Flags {
		ids = append(ids, f.RaisedBy)
		if f.ResolvedBy != "" {
			ids = append(ids, f.ResolvedBy)
		}
	}
	return ids
}

// finishCare names the flags' users and describes the services' outcomes in the page's language.
func (c *Console) finishCare(r *request, cc *caseCare, names map[string]string) {
	for i := range cc.Flags {
		f := &cc.Flags[i]
		f.RaisedByName, f.ResolvedByName = or(names[f.RaisedBy], f.RaisedBy), or(names[f.ResolvedBy], f.ResolvedBy)
	}
	slices.SortStableFunc(cc.Appointments, func(a, b appointment.Appointment) int { return a.StartsAt.Compare(b.StartsAt) })
	cat, loc := c.deps.Catalog, r.loc.Code
	yes := func(id string, b *bool) []string {
		if b == nil {
			return nil
		}
		v := "console.care.no"
		if *b {
			v = "console.care.yes"
		}
		return []string{cat.Message(loc, "console.care.outcome.pair", map[string]any{"Label": cat.Message(loc, id, nil), "Value": cat.Message(loc, v, nil)})}
	}
	for i := range cc.Services {
		o := cc.Services[i].Record.Outcome
		var out []string
		out = append(out, yes("console.care.outcome.examination_done", o.ExaminationDone)...)
		out = append(out, yes("console.care.outcome.follow_up_needed", o.FollowUpNeeded)...)
		if o.Sessions != nil {
			out = append(out, cat.Message(loc, "console.care.outcome.sessions", map[string]any{"Count": *o.Sessions}))
		}
		if o.AssessmentOutcome != "" {
			out = append(out, cat.Message(loc, "caseservice.assessment."+string(o.AssessmentOutcome), nil))
		}
		out = append(out, yes("console.care.outcome.safety_plan", o.SafetyPlan)...)
		out = append(out, yes("console.care.outcome.charges_filed", o.ChargesFiled)...)
		for _, d := range o.CourtDates {
			out = append(out, cat.Message(loc, "console.care.outcome.court_date", map[string]any{"Date": d.UTC().Format(cat.Message(loc, "console.format.date", nil))}))
		}
		if o.Disposition != "" {
			out = append(out, cat.Message(loc, "caseservice.disposition."+string(o.Disposition), nil))
		}
		cc.Services[i].Outcome = out
	}
}

// raiseFlag is POST /console/cases/{id}/flags: caseflag.Service.Raise with the form's kind and
// reason (as POST /v1/cases/{id}/flags, a new id per form). Field errors show the case page again
// with them at the flag form (400); success returns to the case page (303).
func (c *Console) raiseFlag(r *request) error {
	id := strings.Clone(r.c.Params("case"))
	nf := caseflag.NewFlag{ID: uuid.Must(uuid.NewV7()).String(), Kind: caseflag.Kind(strings.Clone(r.c.FormValue("kind"))),
		Reason: strings.Clone(r.c.FormValue("reason"))}
	_, _, err := c.deps.Care.Flags.Raise(r.ctx(), r.p, id, nf)
	return c.afterCaseForm(r, id, "flag.", err)
}

// resolveFlag is POST /console/cases/{id}/flags/{flag}/resolve: caseflag.Service.Resolve with the
// form's reason and the version the page showed; errors as raiseFlag's.
func (c *Console) resolveFlag(r *request) error {
	id, flag := strings.Clone(r.c.Params("case")), strings.Clone(r.c.Params("flag"))
	_, err := c.deps.Care.Flags.Resolve(r.ctx(), r.p, id, flag, strings.Clone(r.c.FormValue("reason")), formVersion(r))
	return c.afterCaseForm(r, id, "resolve."+flag+".", err)
}

// afterCaseForm answers a case page form: its field errors (keyed prefix+field) on the case page
// (400), another error as it is, success with a redirect to the case page.
func (c *Console) afterCaseForm(r *request, id, prefix string, err error) error {
	if errs := c.formErrors(r, prefix, err); errs != nil {
		return c.showCase(r, fiber.StatusBadRequest, id, "", errs)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/cases/"+url.PathEscape(id), fiber.StatusSeeOther)
}

// dateParam reads a YYYY-MM-DD query parameter as midnight UTC (def when absent); another form is
// a field error in fe.
func dateParam(r *request, name string, def time.Time, fe *apperr.FieldErrors) time.Time {
	v := r.c.Query(name)
	if v == "" {
		return def
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		fe.Add(name, "date", "care.field.date", nil)
		return def
	}
	return t
}
