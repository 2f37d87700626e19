package console

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
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
	)
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

// casePage is GET /console/cases/{id}: the case as casework.Service.Get returns it (same scoping:
// 404 for another organisation's case or one a caseworker is not assigned to; same audit entry),
// with the child's profile and needs and the assigned caseworkers. Its title names no child.
func (c *Console) casePage(r *request) error {
	k, err := c.deps.Cases.Get(r.ctx(), r.p, strings.Clone(r.c.Params("case")))
	if err != nil {
		return err
	}
	return c.render(r, fiber.StatusOK, "case", "console.case.title", k, "")
}
