// Package consent records the consents and legal bases under which a case's data may be shared with
// other organisations or used for a purpose: who gave it (the child, a caregiver, a legal guardian)
// or the legal basis that stands instead (a court order, a statutory duty), for which purposes, with
// which named organisations, covering which parts of the case, from when until when. Consents are
// append-only: a record is never edited or removed; a withdrawal is stamped on it once, with its
// time, and the history stays readable. Referrals (package referral) share case data only under a
// current consent that covers the receiving organisation and the parts shared.
package consent
