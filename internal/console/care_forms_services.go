package console

import (
	"strconv"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
)

// serviceForms are the vocabularies of the services' forms.
type serviceForms struct {
	Disciplines        []caseservice.Discipline
	Statuses           []caseservice.Status
	AssessmentOutcomes []caseservice.AssessmentOutcome
	Dispositions       []caseservice.Disposition
	NewServiceID       string
}

// newServiceForms returns the services' forms' vocabularies with a fresh id.
func newServiceForms() serviceForms {
	return serviceForms{Disciplines: caseservice.Disciplines, Statuses: caseservice.Statuses,
		AssessmentOutcomes: caseservice.AssessmentOutcomes, Dispositions: caseservice.Dispositions, NewServiceID: newFormID()}
}

// addService is POST /console/cases/{id}/services: caseservice.Service.Create (as POST
// /v1/cases/{id}/services) with the form's id, discipline, status, provider and notes. A resent
// form changes nothing.
func (c *Console) addService(r *request) error {
	id := strings.Clone(r.c.Params("case"))
	form := formValues(r, "service.", "id", "discipline", "status", "provider", "notes")
	_, _, err := c.deps.Care.Services.Create(r.ctx(), r.p, id, first(form, "service.id"), caseservice.Discipline(first(form, "service.discipline")),
		caseservice.Details{Status: caseservice.Status(first(form, "service.status")), Provider: first(form, "service.provider"), Notes: first(form, "service.notes")})
	return c.afterCareForm(r, id, "service.", form, err)
}

// serviceOutcomeFields are the outcome fields the update form sends (the discipline's; court dates
// stay as they are).
var serviceOutcomeFields = []string{"examination_done", "follow_up_needed", "sessions", "assessment_outcome", "safety_plan", "charges_filed", "disposition"}

// updateService is POST /console/cases/{id}/services/{service}/update: caseservice.Service.Update
// (as PATCH /v1/cases/{id}/services/{service}) with the form's status and outcome at the version
// the page showed. The outcome replaces the stored one except its court dates, which the form does
// not show (read first, as a client of /v1 would). A resent form names a stale version: 409,
// nothing changed.
func (c *Console) updateService(r *request) error {
	id, sid := strings.Clone(r.c.Params("case")), strings.Clone(r.c.Params("service"))
	prefix := "update." + sid + "."
	form := formValues(r, prefix, append([]string{"status"}, serviceOutcomeFields...)...)
	cur, err := c.deps.Care.Services.Get(r.ctx(), r.p, id, sid)
	if err != nil {
		return err
	}
	var fe apperr.FieldErrors
	o := caseservice.Outcome{CourtDates: cur.Outcome.CourtDates,
		AssessmentOutcome: caseservice.AssessmentOutcome(first(form, prefix+"assessment_outcome")),
		Disposition:       caseservice.Disposition(first(form, prefix+"disposition"))}
	for _, b := range []struct {
		field string
		to    **bool
	}{{"examination_done", &o.ExaminationDone}, {"follow_up_needed", &o.FollowUpNeeded}, {"safety_plan", &o.SafetyPlan}, {"charges_filed", &o.ChargesFiled}} {
		switch first(form, prefix+b.field) {
		case "":
		case "yes", "no":
			v := first(form, prefix+b.field) == "yes"
			*b.to = &v
		default:
			fe.Add("outcome."+b.field, "oneof", "field.invalid", nil)
		}
	}
	if v := first(form, prefix+"sessions"); v != "" {
		if n, err := strconv.Atoi(v); err != nil {
			fe.Add("outcome.sessions", "integer", "field.integer", nil)
		} else {
			o.Sessions = &n
		}
	}
	if err = fe.Err(); err == nil {
		status := caseservice.Status(first(form, prefix+"status"))
		_, err = c.deps.Care.Services.Update(r.ctx(), r.p, id, sid, caseservice.Update{Status: &status, Outcome: &o}, formVersion(r))
	}
	return c.afterCareForm(r, id, prefix, form, err)
}
