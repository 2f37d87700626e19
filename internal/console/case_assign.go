package console

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// fieldCaseworker is the assignment forms' field: the caseworker to assign or unassign.
const fieldCaseworker = "caseworker_id"

// declareCaseActions adds the case page's actions beyond close and reopen: assigning and
// unassigning caseworkers (supervisors, as PATCH /v1/cases/{id} with caseworker_ids), verifying an
// evidence item's chain and downloading its CASE/UCO export and printable record (as the API's
// evidence routes).
func (c *Console) declareCaseActions() {
	sup := access.Roles(identity.RoleSupervisor)
	both := access.Roles(identity.RoleSupervisor, identity.RoleCaseworker)
	item := Prefix + "/cases/:case/evidence/:item"
	c.routes = append(c.routes,
		route{method: fiber.MethodPost, path: Prefix + "/cases/:case/assign", policy: sup, h: c.assignCaseworker},
		route{method: fiber.MethodPost, path: Prefix + "/cases/:case/unassign", policy: sup, h: c.unassignCaseworker},
		route{method: fiber.MethodPost, path: item + "/verify", policy: both, h: c.verifyItem},
		route{method: fiber.MethodGet, path: item + "/case-uco", policy: both, h: c.itemCaseUCO},
		route{method: fiber.MethodGet, path: item + "/custody-record", policy: both, h: c.itemCustodyRecord},
	)
}

// assignCaseworker is POST /console/cases/{id}/assign: adds the chosen caseworker to the case
// through casework.Service.Update at the version the page showed.
func (c *Console) assignCaseworker(r *request) error {
	return c.changeAssignment(r, func(ids []string, id string) []string {
		if slices.Contains(ids, id) {
			return ids
		}
		return append(ids, id)
	})
}

// unassignCaseworker is POST /console/cases/{id}/unassign: removes the caseworker from the case,
// as assignCaseworker.
func (c *Console) unassignCaseworker(r *request) error {
	return c.changeAssignment(r, func(ids []string, id string) []string {
		return slices.DeleteFunc(ids, func(x string) bool { return x == id })
	})
}

// changeAssignment reads the case (casework.Service.Get: another organisation's case is a 404),
// applies change to its caseworkers and saves them with casework.Service.Update at the form's
// version. No caseworker chosen, an id that is not an enabled caseworker of the organisation, or a
// closed case shows the page again with the message at the picker (400, nothing changed); a case
// changed since the page was shown answers the service's 409; success returns to the case page.
func (c *Console) changeAssignment(r *request, change func(ids []string, id string) []string) error {
	caseID, who := strings.Clone(r.c.Params("case")), strings.TrimSpace(r.c.FormValue(fieldCaseworker))
	version, err := strconv.ParseInt(r.c.FormValue("version"), 10, 64)
	if err != nil {
		version = -1 // not a version the case can have: the service answers that it changed
	}
	k, err := c.deps.Cases.Get(r.ctx(), r.p, caseID)
	if err != nil {
		return err
	}
	if who == "" {
		msg := c.deps.Catalog.Message(r.loc.Code, "console.case.assign.choose", nil)
		return c.showCase(r, fiber.StatusBadRequest, caseID, "", map[string]string{fieldCaseworker: msg})
	}
	ids := change(slices.Clone(k.CaseworkerIDs), who)
	_, err = c.deps.Cases.Update(r.ctx(), r.p, caseID, casework.CaseUpdate{CaseworkerIDs: &ids}, version)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid {
		msgs := []string{}
		if len(e.Fields) == 0 {
			msgs = append(msgs, c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data)))
		}
		for _, f := range e.Fields {
			msgs = append(msgs, c.fieldMessage(r.loc.Code, f))
		}
		return c.showCase(r, fiber.StatusBadRequest, caseID, "", map[string]string{fieldCaseworker: strings.Join(msgs, " ")})
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/cases/"+url.PathEscape(caseID), fiber.StatusSeeOther)
}
