package console

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// careForms are the case page's forms of working across agencies: their vocabularies, the
// directory to pick organisations from, and a fresh client-chosen id per form and render (the id
// /v1 takes from the client, so that a retried POST of one render stores nothing twice).
type careForms struct {
	Givers       []consent.GivenBy
	LegalBases   []consent.LegalBasis
	Purposes     []consent.Purpose
	Parts        []consent.Part
	Directory    []identity.Organisation // the directory's first page, the caller's own left out
	NewConsentID string
	serviceForms
	appointmentForms
	referralForms
	OrgInputs []int // the organisation inputs of the consent form
}

// consentOrgInputs is how many organisations the consent form takes (more: a second consent, or
// the API).
const consentOrgInputs = 3

// declareCareForms adds the case page's forms: recording and withdrawing consents, adding services
// and updating their status and outcome, scheduling appointments and setting their status, and
// sending referrals.
func (c *Console) declareCareForms() {
	post := fiber.MethodPost
	casePeople := access.Roles(identity.RoleSupervisor, identity.RoleCaseworker)
	if c.deps.Care.Consents != nil {
		c.routes = append(c.routes,
			route{method: post, path: Prefix + "/cases/:case/consents", policy: casePeople, h: c.recordConsent},
			route{method: post, path: Prefix + "/cases/:case/consents/:consent/withdraw", policy: casePeople, h: c.withdrawConsent})
	}
	if c.deps.Care.Services != nil {
		c.routes = append(c.routes,
			route{method: post, path: Prefix + "/cases/:case/services", policy: casePeople, h: c.addService},
			route{method: post, path: Prefix + "/cases/:case/services/:service/update", policy: casePeople, h: c.updateService})
	}
	if c.deps.Care.Appointments != nil {
		c.routes = append(c.routes,
			route{method: post, path: Prefix + "/cases/:case/appointments", policy: casePeople, h: c.scheduleAppointment},
			route{method: post, path: Prefix + "/cases/:case/appointments/:appointment/status", policy: casePeople, h: c.setAppointmentStatus})
	}
	if c.deps.Referrals != nil {
		c.routes = append(c.routes, route{method: post, path: Prefix + "/cases/:case/referrals", policy: casePeople, h: c.sendReferral})
	}
}

// loadCareForms fills in the forms' vocabularies, fresh ids and the directory (read in g).
func (c *Console) loadCareForms(r *request, g *group, f *careForms) {
	f.Givers, f.LegalBases, f.Purposes, f.Parts = consent.Givers, consent.LegalBases, consent.Purposes, consent.Parts
	f.NewConsentID, f.serviceForms, f.appointmentForms, f.referralForms = newFormID(), newServiceForms(), newAppointmentForms(), c.newReferralForms()
	for i := range consentOrgInputs {
		f.OrgInputs = append(f.OrgInputs, i+1)
	}
	ctx, p := r.ctx(), r.p
	g.Go(func() error {
		page, err := c.deps.Identity.ListOrganisations(ctx, p, "", identity.MaxPageSize)
		for _, o := range page.Organisations {
			if o.ID != p.OrgID {
				f.Directory = append(f.Directory, o)
			}
		}
		return err
	})
}

// newFormID returns a fresh id for a form's record.
func newFormID() string { return uuid.Must(uuid.NewV7()).String() }

// formValues copies the posted form's values of keys (trimmed, empty ones dropped), keyed
// prefix+key, for showing the form again.
func formValues(r *request, prefix string, keys ...string) map[string][]string {
	out := map[string][]string{}
	args := r.c.Request().PostArgs()
	for _, k := range keys {
		for _, v := range args.PeekMulti(k) {
			if s := strings.TrimSpace(formText(string(v))); s != "" {
				out[prefix+k] = append(out[prefix+k], s)
			}
		}
	}
	return out
}

// first returns the first value of key in form, "" when none.
func first(form map[string][]string, key string) string {
	if v := form[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// codes converts form values to vocabulary codes.
func codes[T ~string](vs []string) []T {
	out := make([]T, 0, len(vs))
	for _, v := range vs {
		out = append(out, T(v))
	}
	return out
}

// recordConsent is POST /console/cases/{id}/consents: consent.Service.Create (as POST
// /v1/cases/{id}/consents) with the form's id, who gave it or the legal basis ("giver": a
// consent.GivenBy or consent.LegalBasis code), purposes, parts, organisations, last day of validity
// (valid_until, a date: valid until its start, UTC) and note. A resent form changes nothing.
func (c *Console) recordConsent(r *request) error {
	id := strings.Clone(r.c.Params("case"))
	form := formValues(r, "consent.", "id", "giver", "purposes", "parts", "organisation_ids", "valid_until", "note")
	nc := consent.NewConsent{ID: first(form, "consent.id"), Purposes: codes[consent.Purpose](form["consent.purposes"]),
		Parts: codes[consent.Part](form["consent.parts"]), OrganisationIDs: form["consent.organisation_ids"], Note: first(form, "consent.note")}
	giver := first(form, "consent.giver")
	for _, b := range consent.LegalBases {
		if giver == string(b) {
			nc.LegalBasis = b
		}
	}
	if nc.LegalBasis == "" {
		nc.GivenBy = consent.GivenBy(giver)
	}
	var fe apperr.FieldErrors
	if v := first(form, "consent.valid_until"); v != "" {
		if t, err := time.Parse(time.DateOnly, v); err != nil {
			fe.Add("valid_until", "date", "care.field.date", nil)
		} else {
			nc.ValidUntil = &t
		}
	}
	err := fe.Err()
	if err == nil {
		_, _, err = c.deps.Care.Consents.Create(r.ctx(), r.p, id, nc)
	}
	return c.afterCareForm(r, id, "consent.", form, err)
}

// withdrawConsent is POST /console/cases/{id}/consents/{consent}/withdraw:
// consent.Service.Withdraw (as POST /v1/cases/{id}/consents/{consent}/withdrawal) now, with the
// form's note and the version the page showed. A resent form finds the consent withdrawn: 409,
// nothing changed.
func (c *Console) withdrawConsent(r *request) error {
	id, cid := strings.Clone(r.c.Params("case")), strings.Clone(r.c.Params("consent"))
	form := formValues(r, "withdraw."+cid+".", "note")
	_, err := c.deps.Care.Consents.Withdraw(r.ctx(), r.p, id, cid, first(form, "withdraw."+cid+".note"), time.Time{}, formVersion(r))
	return c.afterCareForm(r, id, "withdraw."+cid+".", form, err)
}

// fieldIndex matches the index of a list entry's field error and what follows it
// (organisation_ids[1], participants[0].name): the console shows it at the list.
var fieldIndex = regexp.MustCompile(`\[\d+\].*$`)

// consoleMessages replace the API's field messages that name its JSON fields.
var consoleMessages = map[string]string{
	"field.consent_giver": "console.care.consent.giver_required",
}

// afterCareForm answers a case page form of working across agencies: field errors (keyed
// prefix+field, a list entry's at its list) on the case page with the values sent (400); a
// conflict (an id used for other content, a stale version) on the case page with its message at
// the form (prefix+"form", 409), the form then holding a fresh id; another error as it is; success
// with a redirect to the case page (303).
func (c *Console) afterCareForm(r *request, id, prefix string, form map[string][]string, err error) error {
	e := apperr.As(err)
	switch {
	case err == nil:
		return r.c.Redirect(Prefix+"/cases/"+url.PathEscape(id), fiber.StatusSeeOther)
	case e == nil:
		return err
	case len(e.Fields) > 0 && (e.Kind == apperr.Invalid || e.Kind == apperr.Unprocessable):
		errs := map[string]string{}
		for _, f := range e.Fields {
			key := prefix + fieldIndex.ReplaceAllString(f.Field, "")
			if _, ok := errs[key]; ok {
				continue
			}
			if m, ok := consoleMessages[f.MessageID]; ok {
				f.MessageID = m
			}
			errs[key] = c.fieldMessage(r.loc.Code, f)
		}
		return c.showCaseForm(r, fiber.StatusBadRequest, id, form, errs)
	case e.Kind == apperr.Conflict:
		msg := c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data))
		if strings.HasSuffix(e.Code, "_id_conflict") {
			msg = c.deps.Catalog.Message(r.loc.Code, "console.care.form_reused", nil)
		}
		return c.showCaseForm(r, fiber.StatusConflict, id, form, map[string]string{prefix + "form": msg})
	}
	return err
}
