package main

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// newSharing builds the services of working across agencies: consents (stored encrypted under the
// case keys) and referrals, which read consents, the directory and cases.
func newSharing(db *mongodb.DB, sec *security, cases *casework.Service) (*consent.Service, *referral.Service) {
	consents := consent.NewService(db.Consents(sec.keys), cases, sec.identity, sec.audit, time.Now)
	referrals := referral.NewService(db.Referrals(sec.keys), cases, consents, sec.identity, sec.audit, time.Now)
	return consents, referrals
}
