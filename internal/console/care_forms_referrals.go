package console

import (
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// referralForms are the vocabularies of the referral form (a referral; transfers are left to the
// API).
type referralForms struct {
	ServiceKinds   []identity.ServiceKind
	Urgencies      []referral.Urgency
	SharableParts  []consent.Part
	NewReferralID  string
	ReferralsShown bool // the referral service is wired: the form is shown
}

// newReferralForms returns the referral form's vocabularies with a fresh id.
func (c *Console) newReferralForms() referralForms {
	return referralForms{ServiceKinds: identity.ServiceKinds, Urgencies: referral.Urgencies, SharableParts: referral.SharableParts,
		NewReferralID: newFormID(), ReferralsShown: c.deps.Referrals != nil}
}

// sendReferral is POST /console/cases/{id}/referrals: referral.Service.Send (as POST
// /v1/cases/{id}/referrals) of a referral with the form's id, receiving organisation (to_org_id,
// from the directory), service, urgency, parts shared and note. Sharing parts no current consent
// covers comes back at the parts field; a resent form changes nothing.
func (c *Console) sendReferral(r *request) error {
	id := strings.Clone(r.c.Params("case"))
	form := formValues(r, "referral.", "id", "to_org_id", "service", "urgency", "parts", "note")
	_, _, err := c.deps.Referrals.Send(r.ctx(), r.p, id, referral.NewReferral{ID: first(form, "referral.id"), Kind: referral.KindReferral,
		ToOrgID: first(form, "referral.to_org_id"), Service: identity.ServiceKind(first(form, "referral.service")),
		Urgency: referral.Urgency(first(form, "referral.urgency")), Parts: codes[consent.Part](form["referral.parts"]), Note: first(form, "referral.note")})
	return c.afterCareForm(r, id, "referral.", form, err)
}
