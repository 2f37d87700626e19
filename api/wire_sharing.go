package main

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// newSharing builds the services of working across agencies: consents (stored encrypted under the
// case keys) and referrals, which read consents, the directory and cases, and copy approved
// interviews into the receiver's case when a referral shares them; and registers their
// pull-only sync feeds (a case's consents, an organisation's received referrals) with sync.
func newSharing(db *mongodb.DB, sec *security, cases *casework.Service, interviews *interview.Service, sync *devicesync.Service) (*consent.Service, *referral.Service) {
	consentStore, referralStore := db.Consents(sec.keys), db.Referrals(sec.keys)
	consents := consent.NewService(consentStore, cases, sec.identity, sec.audit, time.Now)
	referrals := referral.NewService(referralStore, cases, consents, sec.identity, sec.audit, time.Now).WithInterviews(interviews)
	sync.Register(devicesync.Registration{Feed: consentStore.ConsentFeed()}).
		Register(devicesync.Registration{Feed: referralStore.ReceivedFeed()})
	return consents, referrals
}
