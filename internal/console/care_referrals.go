package console

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// referralData is the received referral's page: the referral, the accept form's choices (the
// child's profile and case types when they were not shared, the caseworkers to assign) and the
// forms' values and field errors when one was sent back.
type referralData struct {
	Ref          referral.Referral
	NeedsProfile bool // the profile was not shared: the accept form asks for it
	NeedsTypes   bool // the case types were not shared
	AgeBands     []protocol.AgeBand
	CaseTypes    []protocol.CaseType
	Caseworkers  []identity.Caseworker
	Form         map[string]string // the values sent back
	Errors       map[string]string // "accept.<field>" or "decline.<field>" -> localized message
}

// referralPage is GET /console/referrals/{id}: the referral as its receiver sees it
// (referral.Service.Get, as GET /v1/referrals/{id}: same scoping, 404 for another organisation's,
// same audit entry), with accept and decline forms while it is sent.
func (c *Console) referralPage(r *request) error {
	return c.showReferral(r, fiber.StatusOK, strings.Clone(r.c.Params("id")), nil, nil)
}

// showReferral renders referral id's page with status, the form values and field errors.
func (c *Console) showReferral(r *request, status int, id string, form, errs map[string]string) error {
	ref, err := c.deps.Referrals.Get(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	d := referralData{Ref: ref, NeedsProfile: !slices.Contains(ref.Parts, consent.PartProfile), NeedsTypes: !slices.Contains(ref.Parts, consent.PartCaseTypes),
		AgeBands: protocol.AgeBands, CaseTypes: protocol.CaseTypes, Form: form, Errors: errs}
	if ref.Status == referral.StatusSent {
		if d.Caseworkers, err = c.caseworkers(r.ctx(), r.p); err != nil {
			return err
		}
	}
	return c.render(r, status, "referral", "console.referral.title", d, "")
}

// acceptReferral is POST /console/referrals/{id}/accept: referral.Service.Accept with the version
// the page showed, the form's reference number and caseworker, and the child's pseudonym, age band
// and case type where they were not shared (as POST /v1/referrals/{id}/accept). Field errors show
// the page again with them (400); success opens the organisation's new case (303).
func (c *Console) acceptReferral(r *request) error {
	id := strings.Clone(r.c.Params("id"))
	form := map[string]string{}
	for _, k := range []string{"reference_number", "caseworker_id", "pseudonym", "age_band", "case_type"} {
		form[k] = strings.TrimSpace(strings.Clone(r.c.FormValue(k)))
	}
	a := referral.Acceptance{ReferenceNumber: form["reference_number"]}
	if form["caseworker_id"] != "" {
		a.CaseworkerIDs = []string{form["caseworker_id"]}
	}
	if form["pseudonym"] != "" || form["age_band"] != "" {
		a.Child = &casework.Child{Pseudonym: form["pseudonym"], AgeBand: protocol.AgeBand(form["age_band"])}
	}
	if form["case_type"] != "" {
		a.CaseTypes = []protocol.CaseType{protocol.CaseType(form["case_type"])}
	}
	ref, _, err := c.deps.Referrals.Accept(r.ctx(), r.p, id, a, formVersion(r))
	if errs := c.formErrors(r, "accept.", err); errs != nil {
		return c.showReferral(r, fiber.StatusBadRequest, id, form, errs)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/cases/"+url.PathEscape(ref.ToCaseID), fiber.StatusSeeOther)
}

// declineReferral is POST /console/referrals/{id}/decline: referral.Service.Decline with the form's
// reason and the version the page showed (as POST /v1/referrals/{id}/decline). A missing reason
// shows the page again with its message (400); success returns to the referral's page (303).
func (c *Console) declineReferral(r *request) error {
	id, reason := strings.Clone(r.c.Params("id")), strings.Clone(r.c.FormValue("reason"))
	_, err := c.deps.Referrals.Decline(r.ctx(), r.p, id, reason, formVersion(r))
	if errs := c.formErrors(r, "decline.", err); errs != nil {
		return c.showReferral(r, fiber.StatusBadRequest, id, map[string]string{"reason": reason}, errs)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/referrals/"+url.PathEscape(id), fiber.StatusSeeOther)
}

// formErrors returns err's field errors localized and keyed prefix+field, or nil when err carries
// none.
func (c *Console) formErrors(r *request, prefix string, err error) map[string]string {
	e := apperr.As(err)
	if e == nil || len(e.Fields) == 0 || e.Kind != apperr.Invalid && e.Kind != apperr.Unprocessable {
		return nil
	}
	errs := map[string]string{}
	for _, f := range e.Fields {
		errs[prefix+f.Field] = c.fieldMessage(r.loc.Code, f)
	}
	return errs
}
