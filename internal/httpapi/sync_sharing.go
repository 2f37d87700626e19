package httpapi

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// The pull-only sync record types of working across agencies: a case's consents and the referrals
// the organisation received, each as its own route shows it (vocabulary labels are the codes: a
// device labels them in its own language). Their entries in syncTypes are added here, next to their
// views; consents may be created offline (decodeConsentOp), a pushed received referral is refused.
func init() {
	refuse := func(_ *Server, op pushOperation) (devicesync.Payload, error) { return nil, errSyncAction(op.Action) }
	syncTypes[devicesync.TypeConsent] = syncType{view: func(v any) any {
		c := v.(consent.Consent)
		return toConsentView(c, labeler{}, time.Now()) // the status at the pull: devices judge expiry from the times
	}, decode: decodeConsentOp} // created offline (sync_care.go)
	syncTypes[devicesync.TypeReferralReceived] = syncType{view: func(v any) any {
		r := v.(referral.Referral)
		return toReferralView(r, labeler{}, r.ToOrgID)
	}, decode: refuse}
}
