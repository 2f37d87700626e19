package console

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// declareReferrals adds the supervisors' referral inbox: the referrals their organisation received,
// read through referral.Service.Inbox as GET /v1/referrals does (same access, same audit entry).
func (c *Console) declareReferrals() {
	if c.deps.Referrals == nil {
		return
	}
	c.routes = append(c.routes, route{method: fiber.MethodGet, path: Prefix + "/referrals", policy: access.Roles(identity.RoleSupervisor),
		h: c.referralInbox, nav: &navEntry{label: "console.nav.referrals", order: 15}})
}

type referralInboxData struct {
	Referrals []referral.Referral
	Status    string
	Next      string
}

// referralInbox lists the received referrals (by id, 50 a page, ?after= the next page's cursor,
// ?status= one status), with the service, urgency, parts shared, status and where the consent
// stands; a bad status or cursor answers its localized 400 page.
func (c *Console) referralInbox(r *request) error {
	status := utils.CopyString(r.c.Query("status"))
	page, err := c.deps.Referrals.Inbox(r.ctx(), r.p, referral.Status(status), utils.CopyString(r.c.Query("after")), 50)
	if err != nil {
		return err
	}
	return c.render(r, fiber.StatusOK, "referral_inbox", "console.referrals.title", referralInboxData{Referrals: page.Referrals, Status: status, Next: page.Next}, "")
}
