package devicesync

// Record types of working across agencies, pulled only (devices do not push them): a case's
// consents, and the referrals an organisation received (a referral's case is the receiving case, so
// caseworkers get the referrals of the cases assigned to them once accepted; supervisors get every
// received referral, the inbox).
const (
	TypeConsent          = "consent"
	TypeReferralReceived = "referral_received"
)
