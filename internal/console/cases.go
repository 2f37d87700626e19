package console

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// casePageSize is how many cases one page of the case list shows.
const casePageSize = 50

// declareCases adds the case list: supervisors see their organisation's cases, caseworkers the
// cases assigned to them (casework.Service.List's scoping, as GET /v1/cases).
func (c *Console) declareCases() {
	c.routes = append(c.routes,
		route{method: fiber.MethodGet, path: Prefix + "/cases", policy: access.Roles(identity.RoleSupervisor, identity.RoleCaseworker),
			h: c.caseList, nav: &navEntry{label: "console.nav.cases", order: 15}},
		route{method: fiber.MethodGet, path: Prefix + "/cases/:case", policy: access.Roles(identity.RoleSupervisor, identity.RoleCaseworker),
			h: c.casePage},
		route{method: fiber.MethodPost, path: Prefix + "/cases/:case/close", policy: access.Roles(identity.RoleSupervisor, identity.RoleCaseworker),
			h: c.closeCase},
		route{method: fiber.MethodPost, path: Prefix + "/cases/:case/reopen", policy: access.Roles(identity.RoleSupervisor, identity.RoleCaseworker),
			h: c.reopenCase},
	)
	c.declareCaseActions()
}

// caseListData is the case list page: the filter as sent, one page of cases, and the next page's
// link (filter values and cursor only).
type caseListData struct {
	Status, CaseType, AgeBand, Assignee string
	Statuses                            []casework.Status
	CaseTypes                           []protocol.CaseType
	AgeBands                            []protocol.AgeBand
	Cases                               []casework.Case
	Next                                string
}

// caseList is GET /console/cases: casework.Service.List with the API's filters (status, case_type,
// age_band, assignee_id) and cursor; a bad filter answers the service's localized 400.
func (c *Console) caseList(r *request) error {
	d := caseListData{
		Status:    strings.Clone(r.c.Query("status")),
		CaseType:  strings.Clone(r.c.Query("case_type")),
		AgeBand:   strings.Clone(r.c.Query("age_band")),
		Assignee:  strings.Clone(r.c.Query("assignee_id")),
		Statuses:  []casework.Status{casework.StatusOpen, casework.StatusClosed},
		CaseTypes: protocol.CaseTypes,
		AgeBands:  protocol.AgeBands,
	}
	f := casework.Filter{Status: casework.Status(d.Status), CaseType: protocol.CaseType(d.CaseType),
		AgeBand: protocol.AgeBand(d.AgeBand), AssigneeID: d.Assignee}
	page, err := c.deps.Cases.List(r.ctx(), r.p, f, strings.Clone(r.c.Query("cursor")), casePageSize)
	if err != nil {
		return err
	}
	d.Cases = page.Cases
	if page.Next != "" {
		q := url.Values{"cursor": {page.Next}}
		for k, v := range map[string]string{"status": d.Status, "case_type": d.CaseType, "age_band": d.AgeBand, "assignee_id": d.Assignee} {
			if v != "" {
				q.Set(k, v)
			}
		}
		d.Next = Prefix + "/cases?" + q.Encode()
	}
	return c.render(r, fiber.StatusOK, "case_list", "console.cases.title", d, "")
}

// caseData is the case page: the case, and the close or reopen form's reason and field errors when
// it was sent back.
type caseData struct {
	casework.Case
	caseSections
	Names  map[string]string // display names of the assigned caseworkers
	Reason string
	Errors map[string]string   // field -> localized message
	Form   map[string][]string // a case page form's values sent back ("<form>.<field>")
}

// Value returns the first value of a form field sent back, "" when none.
func (d caseData) Value(key string) string { return first(d.Form, key) }

// ValueAt returns the i-th value of a form field sent back, "" when there are fewer.
func (d caseData) ValueAt(key string, i int) string {
	if i < len(d.Form[key]) {
		return d.Form[key][i]
	}
	return ""
}

// Tri returns the yes/no choice of a form field: the value sent back, else cur's ("yes", "no", ""
// when unset).
func (d caseData) Tri(key string, cur *bool) string {
	if v, ok := d.Form[key]; ok && len(v) > 0 {
		return v[0]
	}
	switch {
	case cur == nil:
		return ""
	case *cur:
		return "yes"
	}
	return "no"
}

// Checked reports whether a form field sent back holds v.
func (d caseData) Checked(key, v string) bool { return slices.Contains(d.Form[key], v) }

// casePage is GET /console/cases/{id}: the case as casework.Service.Get returns it (same scoping:
// 404 for another organisation's case or one a caseworker is not assigned to; same audit entry),
// with the child's profile and needs, the assigned caseworkers, and the close or reopen form. Its
// title names no child.
func (c *Console) casePage(r *request) error {
	return c.showCase(r, fiber.StatusOK, strings.Clone(r.c.Params("case")), "", nil)
}

// showCase renders the case page for id with status, the reason as typed and any field errors.
func (c *Console) showCase(r *request, status int, id, reason string, errs map[string]string) error {
	return c.renderCase(r, status, id, caseData{Reason: reason, Errors: errs})
}

// showCaseForm renders the case page for id with status, a form's values sent back and its field
// errors.
func (c *Console) showCaseForm(r *request, status int, id string, form map[string][]string, errs map[string]string) error {
	return c.renderCase(r, status, id, caseData{Form: form, Errors: errs})
}

// renderCase renders the case page for id with d's values and errors.
func (c *Console) renderCase(r *request, status int, id string, d caseData) error {
	k, sections, err := c.loadCase(r, id)
	if err != nil {
		return err
	}
	d.Case, d.caseSections, d.Names = k, sections, sections.PeopleNames
	return c.render(r, status, "case", "console.case.title", d, "")
}

// closeCase is POST /console/cases/{id}/close: casework.Service.Close with the form's reason and the
// version the page showed (as POST /v1/cases/{id}/close).
func (c *Console) closeCase(r *request) error { return c.setCaseStatus(r, c.deps.Cases.Close) }

// reopenCase is POST /console/cases/{id}/reopen: casework.Service.Reopen, as closeCase.
func (c *Console) reopenCase(r *request) error { return c.setCaseStatus(r, c.deps.Cases.Reopen) }

// setCaseStatus closes or reopens the case through set. A missing or too long reason shows the page
// again with the message at the field (400, nothing changed); a case changed since the page was
// shown answers the service's 409 (stale version); success returns to the case page (303).
func (c *Console) setCaseStatus(r *request, set func(context.Context, identity.Principal, string, string, int64) (casework.Case, error)) error {
	id, reason := strings.Clone(r.c.Params("case")), strings.Clone(r.c.FormValue("reason"))
	version, err := strconv.ParseInt(r.c.FormValue("version"), 10, 64)
	if err != nil {
		version = -1 // not a version the case can have: the service answers that it changed
	}
	_, err = set(r.ctx(), r.p, id, reason, version)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		errs := map[string]string{}
		for _, f := range e.Fields {
			errs[f.Field] = c.fieldMessage(r.loc.Code, f)
		}
		return c.showCase(r, fiber.StatusBadRequest, id, reason, errs)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/cases/"+url.PathEscape(id), fiber.StatusSeeOther)
}
